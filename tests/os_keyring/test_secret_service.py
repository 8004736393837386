"""`unlock`, `get` and `lock` against a real OS keyring: gnome-keyring's Secret Service on
a private D-Bus session (RECIPES.md). The keyring holds a session token, never the
passphrase; `lock` removes it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from custodian.crypto import KdfParams
from custodian.db.models import Role, SystemKind
from custodian.secret import SecretPayload
from custodian.service import Custodian

PASS = "keyring test passphrase"
SECRET = "CANARY-keyring-0c4e2a-never-stored"
PATH = "acme/dc01/admin"
INSIDE = Path(__file__).with_name("inside_session.py")
TOOLS = ("dbus-run-session", "gnome-keyring-daemon")

pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in TOOLS),
    reason="needs dbus-run-session and gnome-keyring-daemon (apt-get install dbus gnome-keyring)",
)


def test_unlock_get_lock_through_the_secret_service(tmp_path: Path) -> None:
    db = str(tmp_path / "vault.db")
    with Custodian.open(db, create=True) as vault:
        vault.init("admin", PASS, kdf=KdfParams.floor())
        admin = vault.unlock("admin", PASS)
        admin.add_technician("alice", Role.TECHNICIAN, PASS)
        admin.add_customer("acme", "Acme")
        admin.add_system("acme/dc01", SystemKind.ACTIVE_DIRECTORY)
        admin.add_credential(PATH, SecretPayload({"password": SECRET}))
        admin.grant("alice", "acme")
    home = tmp_path / "home"
    runtime = tmp_path / "run"
    home.mkdir()
    runtime.mkdir(mode=0o700)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CUSTODIAN_", "DBUS_", "PYTHON_KEYRING"))
    }
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), XDG_RUNTIME_DIR=str(runtime))
    inner = f"{sys.executable} {INSIDE} {db} '{PASS}' {PATH}"
    proc = subprocess.run(
        [
            "dbus-run-session",
            "--",
            "sh",
            "-c",
            "echo -n keyring-pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; "
            + inner,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])

    assert report["backend"] == "keyring.backends.SecretService"
    assert report["unlock"]["code"] == 0, report["unlock"]
    assert "OS keyring" in report["unlock"]["stderr"]
    assert "CUSTODIAN_SESSION" not in report["unlock"]["stdout"]  # no fallback line needed

    ours = [
        i for i in report["after_unlock"] if i["attributes"].get("service") == report["service"]
    ]
    assert [i["attributes"]["username"] for i in ours] == [report["slot"]]
    token = ours[0]["secret"]
    everything = json.dumps(report["after_unlock"])
    assert PASS not in everything and SECRET not in everything  # a token, nothing else
    key, expires = token.split(".", 1)  # a random session key and its expiry
    assert len(key) == 43 and datetime.fromisoformat(expires).tzinfo is not None

    assert report["get"] == {"code": 0, "stdout": SECRET + "\n", "stderr": ""}

    assert report["lock"]["code"] == 0
    assert not [
        i for i in report["after_lock"] if i["attributes"].get("service") == report["service"]
    ]
    assert report["get_after_lock"]["code"] == 5
    assert report["get_after_lock"]["stdout"] == ""
