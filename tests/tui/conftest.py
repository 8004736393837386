"""TUI fixtures: a small real vault (SQLite, fixed clock) and the app built by `make_app`.

The TUI is storage-agnostic (it calls only the service API), so most of its tests run on
SQLite; the core flows (unlock, search, reveal with a reason, copy, history, grant and
revoke, offboarding) are marked `@both_databases` and run on PostgreSQL too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from custodian import Role, SecretPayload, SystemKind
from custodian_tui import CustodianApp, TuiConfig, make_app
from tests.conftest import BACKENDS, PASS, VaultKit

TOTP_SEED = "JBSWY3DPEHPK3PXP"  # RFC 6238 style base32 test seed (not a real account)


@pytest.fixture
def backend() -> str:
    return "sqlite"


# Direct parametrization overrides the fixture above: the test runs on both databases.
both_databases = pytest.mark.parametrize("backend", BACKENDS)


@pytest.fixture
def demo(vault: VaultKit) -> VaultKit:
    """acme (requires a reason; alice granted), globex (alice granted), initech (nobody)."""
    admin = vault.admin
    vault.tech("alice")
    vault.tech("audrey", "auditor")
    admin.add_customer("acme", "Acme Corporation", require_reason=True)
    admin.add_customer("globex", "Globex Industries")
    admin.add_customer("initech", "Initech Secret Project")
    for slug, systems in {
        "acme": [
            ("dc01", SystemKind.ACTIVE_DIRECTORY),
            ("sql01", SystemKind.DATABASE),
            ("core-sw", SystemKind.SWITCH),
        ],
        "globex": [("edge-rtr", SystemKind.ROUTER), ("hp-4050", SystemKind.PRINTER)],
        "initech": [("tps-db", SystemKind.DATABASE)],
    }.items():
        for name, kind in systems:
            admin.add_system(f"{slug}/{name}", kind, host=f"{name}.{slug}.example")
            fields = {"password": f"pw-{slug}-{name}"}
            if name == "dc01":
                fields["otp"] = TOTP_SEED
            admin.add_credential(
                f"{slug}/{name}/admin", SecretPayload(fields), username="Administrator"
            )
    vault.clock.advance(timedelta(days=2))
    admin.set_secret(
        "acme/dc01/admin",
        SecretPayload({"password": "pw-acme-dc01-v2", "otp": TOTP_SEED}),
        keep_other_fields=False,
    )
    admin.grant("alice", "acme")
    admin.grant("alice", "globex")
    return vault


def config(kit: VaultKit, **overrides: object) -> TuiConfig:
    values: dict[str, object] = {
        "clock": kit.clock,
        "use_session_cache": False,
        "tick_seconds": 3600.0,
        "local_clipboard": False,  # never the developer's real clipboard (test_clipboard.py)
    }
    values.update(overrides)
    return TuiConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
def app_for(demo: VaultKit) -> Callable[..., CustodianApp]:
    """`app_for("alice")`: the app for that user, locked (unlock screen first);
    `app_for("alice", unlocked=True)` starts on the home screen."""

    def build(user: str = "alice", *, unlocked: bool = False, **overrides: object) -> CustodianApp:
        actor = demo.vault.unlock(user, PASS) if unlocked else None
        return make_app(
            vault=demo.vault, username=user, actor=actor, config=config(demo, **overrides)
        )

    return build


__all__ = ["PASS", "Role"]
