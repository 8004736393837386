"""The server never sees a plaintext: its request log, after reveals through it, holds no
value, no session token and no passphrase (and is a request log, one JSON line each)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.clikit import ADMIN_PASS, CANARY, CRED, SWITCH, TECH_PASS, Cli
from tests.server.serverkit import http_client, login, start_server, unlock_member


def test_the_request_log_holds_no_value_token_or_passphrase(cli: Cli, tmp_path: Path) -> None:
    server = start_server(cli, tmp_path, quiet=False)
    try:
        assert server.get(CRED).stdout == CANARY + "\n"
        assert server.get(SWITCH, "--reason", "T-7").stdout == "switch-pw-1\n"
        with http_client(server.url) as http:
            token = login(http, unlock_member(http, "ben", TECH_PASS)).json()["token"]
            auth = {"authorization": f"Bearer {token}"}
            assert http.get("/v1/log", params={"from": 1}, headers=auth).status_code == 200
    finally:
        server.stop()
    log = server.log_text()
    for secret in (CANARY, "switch-pw-1", token, TECH_PASS, ADMIN_PASS, "Bearer"):
        assert secret not in log
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    served = {(r["method"], r["path"], r["status"]) for r in records}
    assert ("POST", "/v1/reveal", 200) in served
    assert ("GET", "/v1/log", 200) in served
    assert all(set(r) == {"method", "path", "status", "ms", "client", "member"} for r in records)
