"""The rotation commands end to end, as real `custodian` processes against a real sshd:
`system add --trust-host-key`, `rotate`, `rotation verify` (drift), `revoke --rotate`,
`rotation run --json`, `rotation resume`; one-line errors; no secret on any stream."""

from __future__ import annotations

import subprocess

import pytest

from tests.cli.clikit import CANARY, Cli, Template, build_template

from .servers import Sshd, free_port

OLD = "Old-pass-4711!x"


@pytest.fixture(scope="session")
def template_vault(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return build_template(tmp_path_factory.mktemp("cli-template"))


@pytest.fixture
def cli(template_vault: Template, tmp_path) -> Cli:
    from tests.cli.conftest import cli as make

    return make.__wrapped__(template_vault, tmp_path)  # type: ignore[attr-defined]


def _linux(cli: Cli, sshd: Sshd, user: str, secret: str = OLD, name: str = "svc") -> str:
    """hooli/web01/NAME on `sshd`; ada and ben granted hooli."""
    cli.run("customer", "add", "hooli", "--name", "Hooli")
    cli.run("grant", "ada", "hooli")
    cli.run("grant", "ben", "hooli")
    cli.run(
        "system", "add", "hooli/web01", "--kind", "linux", "--host", sshd.host,
        "--port", str(sshd.port), "--trust-host-key", "--yes",
    )  # fmt: skip
    path = f"hooli/web01/{name}"
    cli.run("cred", "add", path, "--username", user, input=secret + "\n")
    return path


def test_rotate_from_the_command_line(cli: Cli, sshd: Sshd) -> None:
    user = sshd.account(OLD)
    path = _linux(cli, sshd, user)
    stored = cli.sql("SELECT host_key, port FROM system WHERE name = 'web01'")
    assert stored == [(sshd.host_key, sshd.port)]
    done = cli.run("rotate", path, "--reason", "T-21")
    assert done.stdout == "" and f"rotated {path}: version 2" in done.stderr
    new = cli.run("get", path).stdout.strip()
    assert sshd.accepts(user, new) and not sshd.accepts(user, OLD)
    for result in cli.results:
        if result.args[0] != "get":
            assert new not in result.stdout + result.stderr
            assert OLD not in result.stdout + result.stderr
    verify = cli.run("rotation", "verify", "--customer", "hooli", "--format", "json")
    assert [(r["path"], r["outcome"]) for r in verify.json()] == [(path, "ok")]


def test_drift_is_flagged_and_failures_are_one_line(cli: Cli, sshd: Sshd) -> None:
    user = sshd.account(OLD)
    path = _linux(cli, sshd, user)
    subprocess.run(["chpasswd"], input=f"{user}:{CANARY}\n", text=True, check=True)
    drift = cli.run("rotation", "verify", "--customer", "hooli", "--format", "json", expect=1)
    assert [(r["path"], r["outcome"]) for r in drift.json()] == [(path, "drift")]
    failed = cli.run("rotate", path, expect=1)  # logs in with the stored (wrong) secret
    assert "refused the password" in failed.stderr
    cli.run("system", "edit", "hooli/web01", "--port", str(free_port()))
    unreachable = cli.run("rotate", path, expect=1)
    assert "unable to connect" in unreachable.stderr
    cli.run("system", "edit", "hooli/web01", "--host-key", "ssh-ed25519 garbage", expect=6)
    cli.run("rotate", "hooli/web01", expect=2)  # a malformed path
    assert all(CANARY not in r.stdout + r.stderr for r in cli.results)


def test_revoke_rotate_changes_what_the_technician_saw(cli: Cli, sshd: Sshd) -> None:
    seen, unseen = sshd.account(OLD), sshd.account(OLD)
    path = _linux(cli, sshd, seen)
    other = "hooli/web01/other"
    cli.run("cred", "add", other, "--username", unseen, input=OLD + "\n")
    assert cli.run("get", path, user="ben").stdout.strip() == OLD
    cli.run("rotation", "run", "--dry-run", "--json")  # the worklist is empty: nothing
    revoked = cli.run("revoke", "ben", "hooli", "--rotate")
    assert "1 rotated" in revoked.stderr and path in revoked.stdout
    assert sshd.accepts(unseen, OLD)  # ben never saw it
    assert sshd.accepts(seen, cli.run("get", path).stdout.strip())
    assert cli.run("rotation", "list", "--customer", "hooli", "--format", "json").json() == []
    assert cli.run("rotation", "resume", "--grace", "0").stderr.strip().endswith("nothing to do")


def test_tech_remove_rotate_and_offboard_rotate_before_handover(
    cli: Cli, sshd: Sshd, tmp_path
) -> None:
    import json

    user = sshd.account(OLD)
    path = _linux(cli, sshd, user)
    assert cli.run("get", path, user="ben").stdout.strip() == OLD
    removed = cli.run("tech", "remove", "ben", "--rotate")
    assert path in removed.stdout and "1 rotated" in removed.stderr
    after_remove = cli.run("get", path).stdout.strip()
    assert after_remove != OLD and sshd.accepts(user, after_remove)
    out = tmp_path / "handover.json"
    cli.run("customer", "offboard", "hooli", "--rotate-before-handover", "--json", str(out))
    handed = json.loads(out.read_text())
    text = json.dumps(handed)
    assert after_remove not in text and OLD not in text  # a password nobody has seen
    password = next(
        v for v in _strings(handed) if sshd.accepts(user, v)
    )  # the handover holds the one the server accepts
    assert password not in after_remove


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_on_a_terminal_a_host_key_is_confirmed_and_progress_is_shown(cli: Cli, sshd: Sshd) -> None:
    import sys

    from tests.cli.clikit import run_on_a_terminal

    user = sshd.account(OLD)
    cli.run("customer", "add", "hooli", "--name", "Hooli")
    cli.run("grant", "ada", "hooli")
    cli.run("grant", "ben", "hooli")
    base = [sys.executable, "-m", "custodian"]
    code, shown = run_on_a_terminal(
        [*base, "system", "add", "hooli/web01", "--kind", "linux", "--host", sshd.host,
         "--port", str(sshd.port), "--trust-host-key"],
        cli.env(),
        {b"store this host key for hooli/web01?": b"y"},
    )  # fmt: skip
    assert code == 0, shown
    assert b"SHA256:" in shown and b"stored the host key of hooli/web01" in shown
    path = "hooli/web01/svc"
    cli.run("cred", "add", path, "--username", user, input=OLD + "\n")
    cli.run("get", path, user="ben")
    cli.run("revoke", "ben", "hooli")
    code, shown = run_on_a_terminal([*base, "rotation", "run"], cli.env(), {})
    assert code == 0, shown
    assert b"[0/1] hooli/web01/svc: sealed" in shown and b"hooli/web01/svc: verified" in shown
    assert b"1 rotated" in shown and OLD.encode() not in shown
