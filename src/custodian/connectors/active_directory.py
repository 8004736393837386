"""`active-directory`: a user or service account's `unicodePwd`, over LDAPS (ldap3).

The account is a user principal name (`svc-backup@corp.example`) or a DN; a simple bind
takes either. Logged in as the account itself: a self change (delete the old value, add
the new, as AD wants it); logged in as a rotation account with the "Reset password"
right: an admin reset (replace). AD does not answer RFC 3062. Samba and Windows accept
`unicodePwd` only over an encrypted connection, hence LDAPS; its certificate is checked
against `--ca-file` (Samba's `private/tls/ca.pem`) for `--tls-name` (`DC1.corp.example`).
"""

from __future__ import annotations

import ldap3
from ldap3.utils.conv import escape_filter_chars

from ..secret import Secret
from .base import Account, ChangeRefused, Target
from .ldap import PORT, bound, changed


def _quoted(secret: str) -> bytes:
    return f'"{secret}"'.encode("utf-16-le")


def _dn(conn: ldap3.Connection, target: Target, account: str) -> str:
    """The DN of `account` (a DN already, or a user principal name to look up)."""
    if "=" in account:
        return account
    info = conn.server.info
    base = info.other.get("defaultNamingContext", [None])[0] if info else None
    name = escape_filter_chars(account)
    short = escape_filter_chars(account.split("@")[0])
    ok = base and conn.search(
        base,
        f"(|(userPrincipalName={name})(sAMAccountName={short}))",
        attributes=["distinguishedName"],
        size_limit=2,
    )
    if not ok or len(conn.entries) != 1:
        raise ChangeRefused(f"{target.where(PORT)}: no single account {account!r} found")
    return str(conn.entries[0].entry_dn)


class ActiveDirectoryConnector:
    """`unicodePwd` over LDAPS: a self change, or an admin reset by a rotation account."""

    name = "active-directory"

    def change(self, target: Target, account: str, new: Secret, *, login: Account) -> None:
        with bound(target, login, info=True) as conn:
            dn = _dn(conn, target, account)
            if login.username == account:
                old = login.secret.reveal()
                request = {
                    "unicodePwd": [
                        (ldap3.MODIFY_DELETE, [_quoted(old)]),
                        (ldap3.MODIFY_ADD, [_quoted(new.reveal())]),
                    ]
                }
            else:
                request = {"unicodePwd": [(ldap3.MODIFY_REPLACE, [_quoted(new.reveal())])]}
            changed(conn, target, account, lambda: conn.modify(dn, request))

    def verify(self, target: Target, login: Account) -> bool:
        from .base import LoginRejected

        try:
            with bound(target, login):
                return True
        except LoginRejected:
            return False
