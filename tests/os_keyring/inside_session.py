"""Run inside `dbus-run-session` with an unlocked gnome-keyring (see test_secret_service.py):
drives the real CLI and reads the Secret Service directly. Prints one JSON report.

argv: DB_PATH PASSPHRASE SECRET_PATH
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keyring
import secretstorage

from custodian.agent.cache import KEYRING_SERVICE
from custodian.agent.names import slot_id
from custodian.location import path_url

SCRIPT = str(Path(sys.executable).parent / "custodian")


def run(*args: str, **env: str) -> dict[str, object]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODIAN_")}
    full.update(CUSTODIAN_DB=DB, CUSTODIAN_USER="alice", CUSTODIAN_NO_AGENT="1", **env)
    proc = subprocess.run(
        [SCRIPT, *args],
        capture_output=True,
        text=True,
        env=full,
        stdin=subprocess.DEVNULL,
        timeout=120,
        start_new_session=True,
    )
    return {"code": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}


def stored_items() -> list[dict[str, object]]:
    """Every item of the default collection, with its secret, straight from D-Bus."""
    conn = secretstorage.dbus_init()
    try:
        collection = secretstorage.get_default_collection(conn)
        return [
            {"attributes": item.get_attributes(), "secret": item.get_secret().decode()}
            for item in collection.get_all_items()
        ]
    finally:
        conn.close()


DB, PASSPHRASE, PATH = sys.argv[1:4]
slot = slot_id(path_url(DB), "alice")
report: dict[str, object] = {"backend": type(keyring.get_keyring()).__module__, "slot": slot}
report["unlock"] = run("unlock", "--no-agent", CUSTODIAN_PASSPHRASE=PASSPHRASE)
report["after_unlock"] = stored_items()
report["get"] = run("get", PATH)  # no passphrase, no CUSTODIAN_SESSION: the keyring's token
report["lock"] = run("lock")
report["after_lock"] = stored_items()
report["get_after_lock"] = run("get", PATH)
report["service"] = KEYRING_SERVICE
print(json.dumps(report))
