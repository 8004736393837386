"""TOTP: `get --field otp` gives the current code (time injected), `otp-seed` the seed;
both are logged reveals."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from custodian.errors import IntegrityError, UsageError
from custodian.secret import Secret, SecretPayload
from custodian.totp import code_at, parse_seed

RFC_KEY = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(
    ("at", "code"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
    ],
)
def test_rfc6238_sha1_vectors(at, code):
    seed = Secret(f"otpauth://totp/x?secret={RFC_KEY}&digits=8")
    assert code_at(seed, datetime.fromtimestamp(at, UTC)).reveal() == code


def test_seed_forms():
    assert parse_seed("JBSW Y3DP EHPK 3PXP").digits == 6
    assert parse_seed("key=JBSWY3DPEHPK3PXP&step=60&size=8").period == 60
    assert (
        parse_seed("otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&algorithm=SHA256").algorithm
        == "SHA256"
    )
    for bad in (
        "otpauth://hotp/a?secret=JBSWY3DPEHPK3PXP",
        "not base32!",
        "AAAA",
        "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=12",
    ):
        with pytest.raises(UsageError) as info:
            parse_seed(bad)
        assert "JBSWY3DP" not in str(info.value)


def test_get_otp_prints_the_current_code(vault):
    seed = f"otpauth://totp/acme?secret={RFC_KEY}&digits=8"
    path = vault.customer("acme", extra={"otp": seed}, grant=("admin",))
    vault.clock.now = datetime.fromtimestamp(1111111109, UTC)
    assert vault.admin.reveal(path, field="otp").reveal() == "07081804"
    vault.clock.advance(timedelta(seconds=30))
    assert vault.admin.reveal(path, field="otp").reveal() != "07081804"
    assert vault.admin.reveal(path, field="otp-seed").reveal() == seed
    targets = [row.target for row in vault.events() if row.action == "reveal"]
    assert targets[-3:] == [f"{path}#otp", f"{path}#otp", f"{path}#otp-seed"]
    assert not any(RFC_KEY in str(row) for row in vault.events())


def test_unusable_seed_is_a_logged_integrity_failure(vault):
    path = vault.customer("acme", extra={"otp": "not a seed"}, grant=("admin",))
    with pytest.raises(IntegrityError, match="TOTP seed is unusable"):
        vault.admin.reveal(path, field="otp")
    assert vault.events()[-1].outcome == "integrity"


def test_otp_seed_is_a_reserved_field_name():
    with pytest.raises(UsageError, match="reserved"):
        SecretPayload({"password": "x", "otp-seed": "y"})
