"""`custodian serve`: the team server (docs/server.md)."""

from __future__ import annotations

import click

from ._context import CliContext

pass_ctx = click.make_pass_decorator(CliContext)


@click.command()
@click.option(
    "--listen", default="127.0.0.1:8443", show_default=True, help="HOST:PORT to listen on."
)
@click.option("--tls-cert", type=click.Path(dir_okay=False), help="The server's certificate (PEM).")
@click.option("--tls-key", type=click.Path(dir_okay=False), help="Its private key (PEM).")
@click.option(
    "--secret-file",
    envvar="CUSTODIAN_SERVER_SECRET_FILE",
    type=click.Path(dir_okay=False),
    help="The session-token secret every instance shares (32+ bytes, mode 0600);"
    " without it, one for this process.",
)
@click.option(
    "--rate-limit",
    type=click.FloatRange(0),
    default=100.0,
    show_default=True,
    help="Requests per second each member may send (0: no limit); more answer 429.",
)
@click.option("--quiet", is_flag=True, help="No request log on stderr.")
@pass_ctx
def serve(
    ctx: CliContext,
    listen: str,
    tls_cert: str | None,
    tls_key: str | None,
    secret_file: str | None,
    rate_limit: float,
    quiet: bool,
) -> None:
    """Serve the vault (--db) to technicians' clients. Plain HTTP only on loopback."""
    from ..server.run import serve as run  # starlette and uvicorn: only for the server

    run(
        ctx.db,
        listen,
        tls_cert=tls_cert,
        tls_key=tls_key,
        secret_file=secret_file,
        rate=rate_limit,
        log_requests=not quiet,
    )


COMMANDS = [serve]
