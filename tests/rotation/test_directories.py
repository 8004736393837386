"""LDAP (OpenLDAP slapd, RFC 3062) and Active Directory (Samba DC, unicodePwd over LDAPS)
rotation against real servers: self change, rotation account (admin reset), an untrusted
certificate, a wrong current password."""

from __future__ import annotations

import pytest

from custodian.connectors import HostKeyMismatch, LoginRejected
from custodian.db.models import SystemKind
from custodian.secret import SecretPayload
from tests.conftest import VaultKit

from .conftest import add_cred, current, directory_system
from .directories import DC_NAME, ROOT_DN, SambaDc, Slapd

OLD = "Old-pass-4711!x"


def test_ldap_self_change_by_rfc3062(vault: VaultKit, slapd: Slapd) -> None:
    dn = slapd.add_user(OLD)
    system = directory_system(
        vault, "ldap01", SystemKind.OTHER, "127.0.0.1", slapd.sport,
        connector="ldap", ca_file=str(slapd.cert),
    )  # fmt: skip
    path = add_cred(vault, f"{system}/jdoe", dn, OLD)
    result = vault.admin.rotator().rotate(path)
    assert (result.outcome, result.connector) == ("rotated", "ldap")
    assert slapd.accepts(dn, current(vault, path))
    assert not slapd.accepts(dn, OLD)


def test_ldap_rotation_account_and_verify(vault: VaultKit, slapd: Slapd) -> None:
    dn = slapd.add_user(OLD)
    system = directory_system(
        vault, "ldap01", SystemKind.OTHER, "127.0.0.1", slapd.sport,
        connector="ldap", ca_file=str(slapd.cert), rotation_account="ldap01/root",
    )  # fmt: skip
    add_cred(vault, f"{system}/root", ROOT_DN, slapd.root_pw)
    path = add_cred(vault, f"{system}/jdoe", dn, "whatever-the-vault-had")
    vault.admin.rotator().rotate(path)
    assert slapd.accepts(dn, current(vault, path))
    outcomes = {r.path: r.outcome for r in vault.admin.rotator().verify(slug="acme")}
    assert outcomes == {path: "ok", f"{system}/root": "ok"}


def test_ldap_untrusted_certificate_refuses(vault: VaultKit, slapd: Slapd, tmp_path) -> None:
    dn = slapd.add_user(OLD)
    other = Slapd(tmp_path / "other")
    other.root.mkdir()
    other.start()  # only for a CA that is not slapd's
    other.kill()
    system = directory_system(
        vault, "ldap01", SystemKind.OTHER, "127.0.0.1", slapd.sport,
        connector="ldap", ca_file=str(other.cert),
    )  # fmt: skip
    path = add_cred(vault, f"{system}/jdoe", dn, OLD)
    with pytest.raises(HostKeyMismatch, match="certificate"):
        vault.admin.rotator().rotate(path)
    assert slapd.accepts(dn, OLD) and current(vault, path) == OLD


@pytest.mark.slow
def test_active_directory_self_change(vault: VaultKit, samba: SambaDc) -> None:
    upn = samba.add_user(OLD)
    system = directory_system(
        vault, "dc01", SystemKind.ACTIVE_DIRECTORY, samba.host, None,
        ca_file=str(samba.ca), tls_name=DC_NAME,
    )  # fmt: skip
    path = add_cred(vault, f"{system}/user", upn, OLD)
    result = vault.admin.rotator().rotate(path)
    assert result.connector == "active-directory"
    assert samba.accepts(upn, current(vault, path))
    assert not samba.accepts(upn, OLD)


@pytest.mark.slow
def test_active_directory_admin_reset_and_wrong_password(vault: VaultKit, samba: SambaDc) -> None:
    upn = samba.add_user(OLD)
    system = directory_system(
        vault, "dc01", SystemKind.ACTIVE_DIRECTORY, samba.host, None,
        ca_file=str(samba.ca), tls_name=DC_NAME, rotation_account="dc01/administrator",
    )  # fmt: skip
    add_cred(vault, f"{system}/administrator", samba.admin, samba.admin_pw)
    path = add_cred(vault, f"{system}/svc", upn, "not-known")
    vault.admin.rotator().rotate(path)
    assert samba.accepts(upn, current(vault, path))
    # a wrong administrator password: nothing changes
    vault.admin.set_secret(
        f"{system}/administrator",
        SecretPayload({"password": "wrong-Pass-1"}),
    )
    before = current(vault, path)
    with pytest.raises(LoginRejected):
        vault.admin.rotator().rotate(path)
    assert current(vault, path) == before and samba.accepts(upn, before)
