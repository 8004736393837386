"""`unlock` / `lock` where no OS keyring exists: the session travels in an exported
CUSTODIAN_SESSION line, and expires (expiry checked with an injected time, never slept)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custodian.agent.cache import SESSION_ENV, SessionSlot
from custodian.db.engine import resolve_url
from tests.cli.clikit import CANARY, CRED, Cli, session_env, unlock_session


def test_unlock_without_keyring_exports_a_session_that_get_uses(cli: Cli) -> None:
    token = unlock_session(cli)
    env = session_env(cli, token)
    assert cli.run("get", CRED, env=env).stdout == CANARY + "\n"

    r = cli.run("lock", env=env)
    assert r.stderr == "locked\n" and r.stdout == ""
    r = cli.run("get", CRED, env=env, expect=5)
    assert "locked" in r.stderr and r.stdout == ""


def test_a_session_belongs_to_its_user_and_vault(cli: Cli) -> None:
    token = unlock_session(cli)
    cli.run("get", CRED, env=session_env(cli, token, user="dora"), expect=5)
    forged = "A" * 43 + "." + token.split(".", 1)[1]
    cli.run("get", CRED, env=session_env(cli, forged), expect=5)


def test_ttl_sets_the_expiry_and_an_expired_session_is_refused(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = datetime.now(UTC)
    token = unlock_session(cli, ttl="1m")
    expires = datetime.fromisoformat(token.split(".", 1)[1])
    assert before + timedelta(seconds=55) < expires <= datetime.now(UTC) + timedelta(minutes=1)

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(cli.runtime))
    slot = SessionSlot(resolve_url(cli.db), "ben")
    bundle = slot.load(token, now=expires - timedelta(seconds=1))
    assert bundle is not None
    assert slot.load(token, now=expires) is None
    assert slot.load(token, now=expires + timedelta(hours=1)) is None

    # the same session, saved as if unlocked two minutes ago with --ttl 1m
    stale = slot.save(bundle, timedelta(minutes=1), now=datetime.now(UTC) - timedelta(minutes=2))
    assert slot.load(stale) is None
    r = cli.run("get", CRED, env=session_env(cli, stale), expect=5)
    assert r.stdout == ""
    assert slot.load(token) is None  # the stale save replaced the live session file


def test_unlock_with_a_wrong_passphrase_prints_no_session(cli: Cli) -> None:
    r = cli.run("unlock", "--no-agent", user="ben", passphrase="not ben's passphrase", expect=5)
    assert r.stdout == "" and SESSION_ENV not in r.stderr
