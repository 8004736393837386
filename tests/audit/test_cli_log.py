"""`custodian log ...` end to end, as separate processes, on SQLite: every export format,
follow, report, alerts, verify (exit 6), checkpoints, customer edit, db harden; a canary
secret never appears in any of their output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from custodian.secret import SecretPayload
from tests.audit.auditkit import CUSTOMER_PATH, drop_triggers, rows
from tests.conftest import CANARY, PASS

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])
CANARY_PATH = "acme/dc01/canary"


def run(
    url: str,
    *args: str,
    user: str = "admin",
    reveals: bool = False,  # type: ignore[no-untyped-def]
    config: Path | None = None,
):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODIAN_")}
    env.update(
        CUSTODIAN_DB=url,
        CUSTODIAN_USER=user,
        CUSTODIAN_PASSPHRASE=PASS,
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        CUSTODIAN_CONFIG=str(config or ""),
    )  # no settings file unless given
    result = subprocess.run(
        [sys.executable, "-m", "custodian", *args],
        env=env,
        text=True,
        capture_output=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert CANARY not in result.stderr
    assert reveals or CANARY not in result.stdout
    return result


@pytest.fixture
def canary_vault(log_vault):  # type: ignore[no-untyped-def]
    log_vault.admin.add_credential(CANARY_PATH, SecretPayload({"password": CANARY}))
    log_vault.clock.advance()
    assert log_vault.bob.reveal(CANARY_PATH, reason="INC-1 canary check").reveal() == CANARY
    return log_vault


def test_every_export_format_lists_events_without_the_secret(canary_vault):
    url = canary_vault.url
    table = run(url, "log", "--credential", CANARY_PATH)
    assert table.returncode == 0 and "INC-1 canary check" in table.stdout
    as_json = run(url, "log", "--format", "json", "--tech", "bob", "--action", "reveal")
    events = json.loads(as_json.stdout)
    assert {e["actor"] for e in events} == {"bob"} and len(events) == 4
    assert events[-1]["customer"] == "acme" and events[-1]["target"] == CANARY_PATH
    nd = run(url, "log", "--format", "ndjson", "--reason", "canary")
    assert [json.loads(line)["reason"] for line in nd.stdout.splitlines()] == ["INC-1 canary check"]
    csv_out = run(url, "log", "--format", "csv", "--customer", "acme", "--outcome", "ok")
    assert csv_out.stdout.splitlines()[0].startswith("seq,at,actor,action,outcome,customer")
    assert len(csv_out.stdout.splitlines()) > 5
    limited = run(url, "log", "--format", "json", "--limit", "1")
    assert len(json.loads(limited.stdout)) == 1
    for fmt in ("text", "csv", "json"):
        report = run(url, "log", "report", "--customer", "acme", "--format", fmt)
        assert report.returncode == 0 and CANARY_PATH in report.stdout
    report = json.loads(run(url, "log", "report", "--customer", "acme", "--format", "json").stdout)
    canary_use = next(u for u in report["credentials"] if u["path"] == CANARY_PATH)
    assert (canary_use["technician"], canary_use["reveals"]) == ("bob", 1)
    alerts = run(
        url,
        "log",
        "alerts",
        "--since",
        "3000d",
        "--format",
        "json",
        "--work-days",
        "mon-fri",
        "--tz",
        "Europe/Berlin",
    )
    assert any(a["kind"] == "off-hours" for a in json.loads(alerts.stdout))
    assert CANARY.encode() not in Path(url.removeprefix("sqlite:///")).read_bytes()


def test_bad_options_fail_with_one_line(canary_vault):
    url = canary_vault.url
    for args in (
        ["log", "--since", "yesterday-ish"],
        ["log", "alerts", "--tz", "Nowhere/X"],
        ["log", "alerts", "--work-hours", "19-7"],
        ["log", "--follow", "--format", "json"],
    ):
        result = run(url, *args)
        assert result.returncode == 2 and len(result.stderr.splitlines()) == 1, result.stderr
    denied = run(url, "log", "report", "--customer", "acme", user="bob")
    assert denied.returncode == 4


def _kinds(result) -> set[str]:  # type: ignore[no-untyped-def]
    assert result.returncode == 0, result.stderr
    return {a["kind"] for a in json.loads(result.stdout)}


def test_alert_thresholds_come_from_config_toml_and_options_override_them(canary_vault, tmp_path):
    """bob's four reveals, seconds apart on a Sunday (2026-03-01): a burst for a
    threshold of 1 per hour, off hours for a Monday-to-Friday week."""
    url, config = canary_vault.url, tmp_path / "config.toml"
    config.write_text(
        "[alerts]\nburst_count = 1\nburst_minutes = 60\n"
        'work_hours = "00-24"\nwork_days = ["mon", "tue", "wed", "thu", "fri",'
        ' "sat", "sun"]\ntimezone = "Europe/Berlin"\n'
    )
    alerts = ("log", "alerts", "--since", "3000d", "--format", "json")
    defaults = _kinds(run(url, *alerts))
    assert "off-hours" in defaults and "burst" not in defaults  # mon-fri; 20 in 10 minutes
    from_file = _kinds(run(url, *alerts, config=config))
    assert "burst" in from_file and "off-hours" not in from_file
    overridden = _kinds(
        run(url, *alerts, "--burst-count", "50", "--work-days", "mon-fri", config=config)
    )
    assert "burst" not in overridden and "off-hours" in overridden
    report = run(url, "log", "report", "--customer", "acme", "--format", "json", config=config)
    assert "burst" in {a["kind"] for a in json.loads(report.stdout)["alerts"]}


def test_a_bad_alerts_table_fails_with_one_line_naming_the_file(canary_vault, tmp_path):
    """Each kind of bad setting: tests/audit/test_alert_settings.py."""
    url, config = canary_vault.url, tmp_path / "config.toml"
    config.write_text('[alerts]\nburst_count = "many"\n')
    result = run(url, "log", "alerts", config=config)
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1, result.stderr
    assert f"{config} [alerts] burst_count" in result.stderr
    missing = run(url, "log", "report", "--customer", "acme", config=tmp_path / "absent.toml")
    assert missing.returncode == 2 and "CUSTODIAN_CONFIG" in missing.stderr


def test_verify_exits_6_at_the_first_bad_event_and_checkpoints_catch_truncation(
    canary_vault, tmp_path
):
    url = canary_vault.url
    ok = run(url, "log", "verify")
    assert ok.returncode == 0 and ok.stdout.startswith("log verified:")
    file = tmp_path / "checkpoints.txt"
    line = run(url, "log", "checkpoint", "--append", str(file)).stdout.strip()
    assert file.read_text().strip() == line and line.startswith("custodian-checkpoint v1 ")
    assert run(url, "log", "verify", "--checkpoint", str(file)).returncode == 0
    second = run(url, "log", "checkpoint", "--append", str(file))  # anchored on the first
    assert second.returncode == 0 and len(file.read_text().splitlines()) == 2
    incremental = run(url, "log", "verify", "--checkpoint", str(file), "--incremental")
    assert "signatures trusted through seq" in incremental.stdout
    assert run(url, "log", "verify", "--incremental").returncode == 2
    file.write_text(line + "\n")
    seq = int(line.split(" seq=")[1].split()[0])
    drop_triggers(canary_vault)
    canary_vault.sql("DELETE FROM access_event WHERE seq > :s", s=seq - 2)
    cut = rows(canary_vault)[-1]
    canary_vault.sql("UPDATE log_head SET seq = :s, head = :h", s=cut.seq, h=bytes(cut.hash))
    pinned = run(url, "log", "verify")  # the auditor's client verified the cut events
    assert pinned.returncode == 6 and "went back" in pinned.stderr
    bad = run(url, "log", "verify", "--checkpoint", str(file))
    assert bad.returncode == 6
    assert "custodian: log verification failed at seq " in bad.stderr
    canary_vault.sql("UPDATE access_event SET reason = 'edited' WHERE seq = 3")
    edited = run(url, "log", "verify", "--format", "json")
    assert edited.returncode == 6 and json.loads(edited.stdout)["first_bad"] == 3
    garbage = tmp_path / "garbage.txt"
    garbage.write_text(line.replace("seq=", "seq=1") + "\n")
    assert run(url, "log", "verify", "--checkpoint", str(garbage)).returncode == 2


def test_follow_streams_new_events(canary_vault):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODIAN_")}
    env.update(
        CUSTODIAN_DB=canary_vault.url,
        CUSTODIAN_USER="admin",
        CUSTODIAN_PASSPHRASE=PASS,
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "custodian",
            "log",
            "--follow",
            "--format",
            "ndjson",
            "--limit",
            "1",
            "--max-events",
            "2",
            "--poll",
            "0.1",
            "--follow-for",
            "120",
            "--action",
            "reveal",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        history = json.loads(proc.stdout.readline())
        assert history["target"] == CANARY_PATH
        canary_vault.bob.reveal(CUSTOMER_PATH, reason="first new")
        canary_vault.admin.checkpoint()  # not a reveal: filtered out
        canary_vault.carol.reveal(CUSTOMER_PATH, reason="second new")
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert [json.loads(line)["reason"] for line in out.splitlines()] == ["first new", "second new"]
    assert CANARY not in out + err


def test_customer_edit_and_db_harden_from_the_command_line(canary_vault):
    url = canary_vault.url
    edit = run(url, "customer", "edit", "acme", "--reason-pattern", r"INC-\d+")
    assert edit.returncode == 0
    denied = run(url, "get", CANARY_PATH, "--reason", "curious", user="bob")
    assert denied.returncode == 4 and "pattern" in denied.stderr
    allowed = run(url, "get", CANARY_PATH, "--reason", "INC-7", user="bob", reveals=True)
    assert allowed.returncode == 0 and allowed.stdout == CANARY + "\n"
    assert run(url, "customer", "edit", "acme", "--no-require-reason").returncode == 0
    assert run(url, "customer", "edit", "acme", "--reason-pattern", "(").returncode == 2
    harden = run(url, "db", "harden")
    assert harden.returncode == 0 and "trigger" in harden.stderr
    actions = [r.action for r in rows(canary_vault)]
    assert actions.count("customer-edit") == 2 and "db-harden" in actions
