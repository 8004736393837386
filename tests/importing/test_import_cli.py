"""`custodian import` end to end, as processes; `get --field otp` prints the code."""

from __future__ import annotations

import json

import pytest

from tests.importing.importkit import SEED, fast_kdbx, run_cli

ADMIN_PASS = "admin passphrase"


@pytest.fixture
def db(tmp_path) -> str:
    path = str(tmp_path / "vault.db")
    r = run_cli(path, "init", "--admin", "admin", "--kdf-seconds", "0")
    assert r.returncode == 0, r.stderr
    return path


def test_import_kdbx_dry_run_then_real(db, tmp_path):
    kp = fast_kdbx(tmp_path / "in.kdbx", "kdbx-pass")
    g = kp.add_group(kp.add_group(kp.root_group, "Acme"), "core-sw1")
    e = kp.add_entry(g, "admin", "root", "sw-pw")
    e.otp = f"otpauth://totp/x?secret={SEED}"
    kp.save()
    args = ("import", "kdbx", str(tmp_path / "in.kdbx"), "--map", "groups")
    dry = run_cli(db, *args, "--dry-run", "--format", "json", input="kdbx-pass\n")
    assert dry.returncode == 0, dry.stderr
    assert {"action": "create", "target": "acme/core-sw1/admin"} in json.loads(dry.stdout)
    assert "dry run: nothing written" in dry.stderr
    assert run_cli(db, "cred", "list", "--format", "json").stdout.strip() == "[]"
    real = run_cli(db, *args, input="kdbx-pass\n")
    assert real.returncode == 0 and real.stdout == "", real.stderr
    assert "imported: 1 created" in real.stderr
    assert run_cli(db, "grant", "admin", "acme").returncode == 0
    seed = run_cli(db, "get", "acme/core-sw1/admin", "--field", "otp-seed")
    assert seed.stdout.strip().endswith(SEED)
    code = run_cli(db, "get", "acme/core-sw1/admin", "--field", "otp")
    assert code.returncode == 0 and len(code.stdout.strip()) == 6 and code.stdout.strip().isdigit()
    log = run_cli(db, "log", "--format", "json").stdout
    targets = [e["target"] for e in json.loads(log)]
    assert "acme/core-sw1/admin#otp" in targets and "acme/core-sw1/admin#otp-seed" in targets
    assert SEED not in log and "sw-pw" not in log


def test_import_errors_are_one_line_and_leave_nothing(db, tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("c,s,n,p\nacme,dc,a,x\nacme,dc,b,x\x00y\n")
    r = run_cli(db, "import", "csv", str(f), "--columns", "customer=c,system=s,name=n,password=p")
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "bad.csv:3" in r.stderr and "Traceback" not in r.stderr
    assert run_cli(db, "customer", "list", "--format", "json").stdout.strip() == "[]"
    wrong = fast_kdbx(tmp_path / "w.kdbx", "right")
    wrong.save()
    r = run_cli(
        db, "import", "kdbx", str(tmp_path / "w.kdbx"), "--customer", "acme", input="wrong\n"
    )
    assert r.returncode == 5 and "wrong passphrase or key file" in r.stderr
    r = run_cli(db, "import", "kdbx", str(tmp_path / "w.kdbx"))
    assert r.returncode == 2 and "--customer" in r.stderr
