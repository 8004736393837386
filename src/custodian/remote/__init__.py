"""A client of `custodian serve`: the same sessions, through the server.

    transport.py  HTTP (http.client, kept alive): TLS, the bearer token, errors back
                  into custodian's own
    session.py    `RemoteVault` (log in) and `RemoteSession` (what a command calls)

What the server sends is verified by `service.Member` (the member's own keys and the
trust their bundle pins) before anything is used. See docs/server.md.

May import: the public `custodian.service` API, `errors`, `secret`; never a front end.
"""

from .session import RemoteSession, RemoteVault

__all__ = ["RemoteSession", "RemoteVault"]
