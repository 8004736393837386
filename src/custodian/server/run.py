"""Running the server: where it listens, with which certificate, with which secret."""

from __future__ import annotations

import logging
import os
import secrets
import sys
from pathlib import Path

from ..errors import UsageError
from ..location import is_loopback
from ..service import Custodian, Served
from .app import create_app
from .throttle import RATE
from .tokens import Tokens

SECRET_BYTES = 32


def parse_listen(listen: str) -> tuple[str, int]:
    """HOST:PORT (an IPv6 host in brackets)."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536 or not host:
        raise UsageError(f"--listen takes HOST:PORT, not {listen[:100]!r}")
    return host.strip("[]"), int(port)


def load_secret(path: str | None) -> bytes:
    """The secret every instance behind one load balancer shares (`--secret-file`): at
    least 32 bytes, readable by the server alone. None: a new one for this process."""
    if path is None:
        return secrets.token_bytes(SECRET_BYTES)
    file = Path(path)
    try:
        if file.stat().st_mode & 0o077:
            raise UsageError(
                f"{path}: the server secret must not be readable by others (chmod 600)"
            )
        data = file.read_bytes().strip()
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror}") from None
    if len(data) < SECRET_BYTES:
        raise UsageError(f"{path}: the server secret must hold at least {SECRET_BYTES} bytes")
    return data


def serve(
    db: str | None,
    listen: str,
    *,
    tls_cert: str | None,
    tls_key: str | None,
    secret_file: str | None,
    rate: float = RATE,
    log_requests: bool = True,
) -> None:
    """Serve the vault `db` until interrupted."""
    import uvicorn

    host, port = parse_listen(listen)
    if (tls_cert is None) != (tls_key is None):
        raise UsageError("--tls-cert and --tls-key go together")
    if tls_cert is None and not is_loopback(host):
        raise UsageError(f"plain HTTP only on loopback: {host} needs --tls-cert and --tls-key")
    for path in (tls_cert, tls_key):
        if path is not None and not os.path.isfile(path):
            raise UsageError(f"{path}: no such file")
    vault = Custodian.open(db)
    app = create_app(Served(vault), Tokens(load_secret(secret_file)), rate)
    if log_requests:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger = logging.getLogger("custodian.server")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    scheme = "https" if tls_cert else "http"
    print(f"custodian serves {Custodian.location(db)} at {scheme}://{listen}", file=sys.stderr)
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            ssl_certfile=tls_cert,
            ssl_keyfile=tls_key,
            log_level="warning",
            access_log=False,
            server_header=False,
        )
    finally:
        vault.close()
