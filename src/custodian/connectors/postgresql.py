"""`postgresql`: a role's password, with `ALTER ROLE ... PASSWORD` (psycopg).

The new password never reaches the server in the clear: custodian computes its
SCRAM-SHA-256 verifier (RFC 5802, RFC 7677) and sends that, so a statement log shows only
the verifier. Logged in as the role itself (any role may change its own password), or as
a rotation account with CREATEROLE. Connects to the database `postgres`; with
`--ca-file` TLS is required and verified (`sslmode=verify-full`).

Next: MySQL / MariaDB (`ALTER USER ... IDENTIFIED BY`) and SQL Server (`ALTER LOGIN ...
WITH PASSWORD ... OLD_PASSWORD`), the same shape (docs/rotation.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import Any

import psycopg
from psycopg import sql

from ..secret import Secret
from .base import (
    Account,
    ChangeRefused,
    ChangeUnknown,
    LoginRejected,
    Target,
    TargetUnreachable,
)

PORT = 5432
ITERATIONS = 4096


def scram_verifier(
    password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS
) -> str:
    """PostgreSQL's stored form of a SCRAM-SHA-256 password."""
    salt = salt if salt is not None else os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    salt_, stored, server = (base64.b64encode(b).decode() for b in (salt, stored_key, server_key))
    return f"SCRAM-SHA-256${iterations}:{salt_}${stored}:{server}"


def verifier_matches(stored: str, password: str) -> bool:
    """Does the stored verifier (`pg_authid.rolpassword`) belong to `password`?"""
    try:
        head, keys = stored.split("$", 2)[1:]
        iterations, salt = head.split(":")
        expected = scram_verifier(password, salt=base64.b64decode(salt), iterations=int(iterations))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(expected.split("$", 2)[2], keys)


def _connect(target: Target, login: Account) -> psycopg.Connection[Any]:
    options: dict[str, Any] = {"sslmode": "prefer"}
    if target.ca_file:
        options = {"sslmode": "verify-full", "sslrootcert": target.ca_file}
    try:
        return psycopg.connect(
            host=target.host,
            port=target.port or PORT,
            user=login.username,
            password=login.secret.reveal(),
            dbname="postgres",
            connect_timeout=max(1, int(target.timeout)),
            autocommit=True,
            **options,
        )
    except psycopg.OperationalError as exc:
        if "password authentication failed" in str(exc):
            raise LoginRejected(
                f"{target.where(PORT)} refused the password of {login.username!r}"
            ) from None
        raise TargetUnreachable(
            f"{target.where(PORT)}: no connection ({type(exc).__name__})"
        ) from None


class PostgresConnector:
    """ALTER ROLE ... PASSWORD with a SCRAM-SHA-256 verifier."""

    name = "postgresql"

    def change(self, target: Target, account: str, new: Secret, *, login: Account) -> None:
        statement = sql.SQL("ALTER ROLE {} PASSWORD {}").format(
            sql.Identifier(account), sql.Literal(scram_verifier(new.reveal()))
        )
        with _connect(target, login) as conn:
            try:
                conn.execute(statement)
            except psycopg.OperationalError:
                raise ChangeUnknown(
                    f"{target.where(PORT)}: the connection broke while changing {account!r}"
                ) from None
            except psycopg.Error as exc:
                raise ChangeRefused(
                    f"{target.where(PORT)} refused to change {account!r}"
                    f" ({exc.sqlstate or type(exc).__name__})"
                ) from None

    def verify(self, target: Target, login: Account) -> bool:
        try:
            with _connect(target, login):
                return True
        except LoginRejected:
            return False
