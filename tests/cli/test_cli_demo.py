"""`make demo` (`python -m custodian.demo DIR`): a fresh demo vault, a `get` and the log."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from custodian.demo import CUSTOMERS, PASSPHRASES, SYSTEMS
from tests.cli.clikit import Cli, check_streams, clean_env


def test_demo_builds_a_fresh_vault_and_shows_a_get_and_the_log(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    demo.mkdir()
    (demo / "vault.db").write_bytes(b"an old demo vault, or anything else")
    (demo / "vault.db-wal").write_bytes(b"stale")
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)

    proc = subprocess.run(
        [sys.executable, "-m", "custodian.demo", str(demo)],
        capture_output=True,
        text=True,
        env=clean_env("", runtime),
        cwd=tmp_path,
        timeout=600,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    shown = lines[lines.index("ben$ custodian get acme/dc01/administrator") + 1]
    assert len(shown) == 24  # generated for an AD: 24 characters
    assert "custodian: no access to customer 'acme'" in proc.stderr  # cleo's refusal
    log_header = next(i for i, line in enumerate(lines) if line.startswith("AT "))
    log = lines[log_header + 1 :]
    assert sum(" reveal " in line and " ok " in line for line in log) == 2
    assert sum(" denied " in line for line in log) == 2
    assert shown not in "\n".join(log)
    assert not list(runtime.glob("custodian/session-*"))  # the demo locked its sessions
    tail = "\n".join(lines[lines.index("== Try it yourself") :])
    assert all(name in tail and pw in tail for name, pw in PASSPHRASES.items())  # ada, cleo too

    cli = Cli(str(demo / "vault.db"), runtime)
    env = cli.env("ben", PASSPHRASES["ben"])
    r = cli.run("get", "acme/dc01/administrator", env=env)
    check_streams(r)
    assert r.stdout == shown + "\n"
    creds = cli.run("cred", "list", "--format", "json", env=cli.env("ada", PASSPHRASES["ada"]))
    paths = {c["path"] for c in creds.json()}
    assert len(paths) == len(CUSTOMERS) * len(SYSTEMS) == 15
    kinds = {c["system_kind"] for c in creds.json()}
    assert {"active-directory", "database", "switch", "router", "printer"} == kinds
    hosts = {c["host"] for c in creds.json()}
    assert all(h.startswith(("192.0.2.", "198.51.100.", "203.0.113.")) for h in hosts)
