"""The defects issue 19 found trying custodian as a new MSP would, each pinned end to end
through the CLI (on SQLite and PostgreSQL where the database matters)."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from custodian.secret import Secret
from custodian.totp import code_at
from tests.cli.clikit import CANARY, CRED, LOCKED, Cli

SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
KDBX_PASS = "handover passphrase 42"


def _handover(cli: Cli, slug: str, target: Path) -> None:
    cli.run("grant", "ada", slug, "--until", "1h")
    cli.run("customer", "offboard", slug, "--handover", str(target), input=KDBX_PASS + "\n")


def _events(cli: Cli, **filters: str) -> list[dict[str, object]]:
    args = [f"--{k}={v}" for k, v in filters.items()]
    return list(cli.run("log", *args, "--format", "json").json())


def test_handover_writes_totp_as_keepassxc_stores_it(both: Cli, tmp_path: Path) -> None:
    both.run("system", "add", "acme/vpn", "--kind", "other")
    fields = {"password": "vpn-pw", "otp": SEED}  # a bare base32 seed, as Hudu exports it
    both.run("cred", "add", "acme/vpn/admin", "--fields-json", input=json.dumps(fields))
    assert len(both.run("get", "acme/vpn/admin", "--field", "otp", user="ben").stdout) == 7
    target = tmp_path / "acme.kdbx"
    _handover(both, "acme", target)
    assert target.stat().st_mode & 0o777 == 0o600
    started = datetime.now(UTC)
    theirs = subprocess.run(
        ["keepassxc-cli", "show", "--totp", "-q", str(target), "vpn/admin"],
        input=KDBX_PASS + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.strip()
    ended = datetime.now(UTC)
    # The code `get --field otp` prints (custodian.totp) at either end of KeePassXC's run.
    ours = {code_at(Secret(SEED), at).reveal() for at in (started, ended)}
    assert theirs in ours, (theirs, ours)


def test_a_control_character_is_refused_on_every_write_path(both: Cli, tmp_path: Path) -> None:
    path = "acme/dc01/odd"
    r = both.run("cred", "add", path, input="bad\x01value\n", expect=2)
    assert "control characters" in r.stderr and "bad" not in r.stderr
    both.run("cred", "set", CRED, input="bad\x01value\n", expect=2)
    both.run(
        "cred", "set", CRED, "--replace", "--fields-json", input='{"enable": "x\\u0001y"}', expect=2
    )
    assert both.run("get", CRED, user="ben").stdout == CANARY + "\n"
    # A line break and a tab stay allowed (a multi-line note, a private key).
    both.run("cred", "add", path, "--fields-json", input='{"password": "a\\tb\\nc"}')


def test_a_secret_over_the_size_limit_is_refused_on_every_write_path(
    both: Cli, tmp_path: Path
) -> None:
    big = "x" * (1024 * 1024 + 1)
    r = both.run("cred", "add", "acme/dc01/big", input=big, expect=2)
    assert "larger than 1 MiB" in r.stderr
    both.run("cred", "set", CRED, input=big, expect=2)
    f = tmp_path / "big.csv"
    f.write_text(f"name,password\nbig,{big}\n")
    r = both.run(
        "import",
        "csv",
        str(f),
        "--customer",
        "acme",
        "--columns",
        "name=name,password=password",
        expect=2,
    )
    assert "larger than 1 MiB" in r.stderr and "big.csv:2" in r.stderr
    fits = "y" * (1024 * 1024)
    both.run("cred", "add", "acme/dc01/big", input=fits)
    assert both.run("get", "acme/dc01/big", user="ben").stdout == fits + "\n"


def test_non_utf8_stdin_is_a_clear_error(cli: Cli) -> None:
    env = cli.env()
    proc = subprocess.run(
        [*_python_custodian(), "cred", "add", "acme/dc01/bin"],
        input=b"\xff\xfe\x00binary",
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2, proc
    assert proc.stderr.decode().startswith("custodian: ") and b"Traceback" not in proc.stderr
    assert "not UTF-8 text" in proc.stderr.decode() and "--file" in proc.stderr.decode()


def test_a_non_utf8_passphrase_on_stdin_is_a_clear_error(cli: Cli) -> None:
    env = cli.env("ben")
    del env["CUSTODIAN_PASSPHRASE"]
    proc = subprocess.run(
        [*_python_custodian(), "unlock", "--no-agent"],
        input=b"\xff\xfepass\n",
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2, proc
    assert proc.stderr == b"custodian: the input is not UTF-8 text\n"


def _python_custodian() -> list[str]:
    import sys

    return [sys.executable, "-m", "custodian"]


def test_a_csv_with_an_unterminated_quote_is_refused_with_file_and_line(
    cli: Cli, tmp_path: Path
) -> None:
    f = tmp_path / "broken.csv"
    f.write_text('name,password\nweb,ok-pw\nmail,"unterminated\n')
    r = cli.run(
        "import",
        "csv",
        str(f),
        "--customer",
        "acme",
        "--columns",
        "name=name,password=password",
        expect=2,
    )
    assert "broken.csv:3" in r.stderr and "quote" in r.stderr
    assert "acme/general/mail" not in cli.run("cred", "list", "acme").stdout


PROBES = [
    ("cred-history", ("cred", "history", "{slug}/fs01/backup")),
    ("cred-list", ("cred", "list", "{slug}")),
    ("cred-add", ("cred", "add", "{slug}/fs01/new")),
    ("cred-set", ("cred", "set", "{slug}/fs01/backup")),
    ("system-add", ("system", "add", "{slug}/new", "--kind", "other")),
    ("log", ("log", "--customer", "{slug}")),
]


@pytest.mark.parametrize(("action", "argv"), PROBES, ids=[p[0] for p in PROBES])
def test_a_probe_without_a_grant_is_logged_and_answered_as_for_no_customer(
    both: Cli, action: str, argv: tuple[str, ...]
) -> None:
    answers = {}
    for slug in ("initech", "nosuch"):  # initech exists, ben holds no grant; nosuch does not
        args = [a.format(slug=slug) for a in argv]
        r = both.run(*args, user="ben", input="some secret\n", expect=4)
        answers[slug] = r.stderr.replace(slug, "SLUG")
    assert answers["initech"] == answers["nosuch"]
    refused = [
        (e["target"], e["outcome"])
        for e in _events(both, tech="ben")
        if e["action"] == action and e["outcome"] == "denied"
    ]
    assert len(refused) == 2, refused
    assert {t.split("/")[0] for t, _ in refused} == {"initech", "nosuch"}  # type: ignore[union-attr]
    assert LOCKED.startswith("initech/")


def test_unlock_accepts_seconds_with_a_minimum(cli: Cli) -> None:
    r = cli.run("unlock", "--ttl", "20s", "--no-agent", user="ben")
    assert "export CUSTODIAN_SESSION=" in r.stdout
    r = cli.run("unlock", "--ttl", "2s", "--no-agent", user="ben", expect=2)
    assert "at least 10s" in r.stderr
