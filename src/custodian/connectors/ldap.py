"""`ldap`: an OpenLDAP entry's `userPassword`, through the password-modify extended
operation (RFC 3062), over LDAPS (ldap3).

The account is the entry's DN. Logged in as the entry itself, the operation carries the
old and the new password; logged in as a rotation account (an admin DN with `write` on
`userPassword`), only the new one. The server's certificate is checked against
`--ca-file` (or the system store), for `--tls-name` when the host is an address.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import ldap3
from ldap3.core import exceptions as ldap_errors

from ..secret import Secret
from .base import (
    Account,
    ChangeRefused,
    ChangeUnknown,
    HostKeyMismatch,
    LoginRejected,
    Target,
    TargetUnreachable,
)

PORT = 636
INVALID_CREDENTIALS = 49


def server(target: Target, *, info: bool = False) -> ldap3.Server:
    tls = ldap3.Tls(
        validate=ssl.CERT_REQUIRED,
        version=ssl.PROTOCOL_TLS_CLIENT,
        ca_certs_file=target.ca_file,
        valid_names=[target.tls_name] if target.tls_name else None,
    )
    return ldap3.Server(
        target.host,
        port=target.port or PORT,
        use_ssl=True,
        tls=tls,
        connect_timeout=target.timeout,
        get_info=ldap3.DSA if info else ldap3.NONE,
    )


def _unreachable(target: Target, exc: Exception) -> Exception:
    text = str(exc).lower()
    if "certificate" in text or "hostname" in text or "doesn't match" in text:
        return HostKeyMismatch(
            f"{target.where(PORT)}: its TLS certificate is not trusted (--ca-file, --tls-name)"
        )
    return TargetUnreachable(f"{target.where(PORT)}: no LDAPS answer ({type(exc).__name__})")


@contextmanager
def bound(target: Target, login: Account, *, info: bool = False) -> Iterator[ldap3.Connection]:
    """A connection bound as `login` (a simple bind over TLS)."""
    conn = ldap3.Connection(
        server(target, info=info),
        user=login.username,
        password=login.secret.reveal(),
        receive_timeout=max(1, int(target.timeout)),
        raise_exceptions=False,
        read_only=False,
    )
    try:
        ok = conn.bind()
    except ldap_errors.LDAPException as exc:
        raise _unreachable(target, exc) from None
    try:
        if not ok:
            if conn.result and conn.result.get("result") == INVALID_CREDENTIALS:
                raise LoginRejected(
                    f"{target.where(PORT)} refused the password of {login.username!r}"
                )
            raise TargetUnreachable(f"{target.where(PORT)}: the bind failed ({_description(conn)})")
        yield conn
    finally:
        with suppress(ldap_errors.LDAPException):
            conn.unbind()


def _description(conn: ldap3.Connection) -> str:
    """The server's result name (never the request, which holds the password)."""
    result = conn.result or {}
    return str(result.get("description") or result.get("result") or "no result")[:100]


def changed(conn: ldap3.Connection, target: Target, account: str, call: object) -> None:
    """Run a change request; refusal and a cut connection become our errors."""
    try:
        ok = call() if callable(call) else call
    except ldap_errors.LDAPException as exc:
        raise ChangeUnknown(
            f"{target.where(PORT)}: the connection broke while changing {account!r}"
            f" ({type(exc).__name__})"
        ) from None
    if not ok:
        raise ChangeRefused(
            f"{target.where(PORT)} refused the new password of {account!r} ({_description(conn)})"
        )


class LdapConnector:
    """RFC 3062 password modify on an LDAP server (OpenLDAP)."""

    name = "ldap"

    def change(self, target: Target, account: str, new: Secret, *, login: Account) -> None:
        with bound(target, login) as conn:
            old = login.secret.reveal() if login.username == account else None
            changed(
                conn,
                target,
                account,
                lambda: conn.extend.standard.modify_password(
                    user=account, old_password=old, new_password=new.reveal()
                ),
            )

    def verify(self, target: Target, login: Account) -> bool:
        try:
            with bound(target, login):
                return True
        except LoginRejected:
            return False
