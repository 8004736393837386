"""The `custodian` command line. Errors become one line on stderr and an exit code
(docs/cli.md).

It imports the public API only: the names `custodian` exports (`custodian.__all__`:
the service's `Custodian` and `ActorSession`, records, errors, the import readers, the
backup's verify and restore, time parsing, ...) and `custodian.service`. Exceptions, for
now: the session cache and the session agent (`custodian.session_cache`,
`custodian.agent`), which `unlock`, `lock` and `passwd` drive themselves. No command
opens a transaction or sets a private attribute of the service; a command that opens the
vault in its own way asks `CliContext` (`create_vault`, `vault_to_upgrade`,
`vault_to_migrate`)."""

from __future__ import annotations

import os
import sys

import click

from .. import CustodianError
from ._context import CliContext

FORMATS = click.Choice(["table", "json"])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", envvar="CUSTODIAN_DB", help="Vault database: a path or an SQLAlchemy URL.")
@click.option("--user", "-u", envvar="CUSTODIAN_USER", help="Who acts (default: login name).")
@click.option(
    "--server",
    envvar="CUSTODIAN_URL",
    help="A custodian server (https://HOST[:PORT]) instead of a database.",
)
@click.version_option(package_name="custodian")
@click.pass_context
def cli(ctx: click.Context, db: str | None, user: str | None, server: str | None) -> None:
    """custodian: the MSP credentials vault."""
    ctx.obj = CliContext(db, user, server)
    ctx.call_on_close(ctx.obj.close)


def _late_global(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """`--db`/`--user` given after the subcommand (`custodian init --db PATH`): the same
    as before it; the later one wins."""
    obj = ctx.find_object(CliContext)
    if value is not None and obj is not None and param.name is not None:
        setattr(obj, param.name, value)


def _accept_global_options(command: click.Command) -> None:
    """Give `command` (and every subcommand of a group) the global --db and --user."""
    taken = {name for p in command.params for name in p.opts}
    for decls in (("--db",), ("--user", "-u"), ("--server",)):
        if not taken & set(decls):
            command.params.append(
                click.Option(
                    decls,
                    expose_value=False,
                    is_eager=True,
                    hidden=True,
                    callback=_late_global,
                )
            )
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _accept_global_options(sub)


def _register() -> None:
    from . import (
        admin,
        backup,
        creds,
        db,
        doctor,
        importing,
        inventory,
        lifecycle,
        log,
        rotate,
        serve,
        session,
        tui,
    )

    modules = (
        admin, backup, creds, db, doctor, importing, inventory, lifecycle, log, rotate, serve,
        session, tui,
    )  # fmt: skip
    for module in modules:
        for command in module.COMMANDS:
            cli.add_command(command)
    for command in cli.commands.values():
        _accept_global_options(command)


_register()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code. Never shows a traceback for a user error."""
    try:
        # Not standalone: click returns an `Exit`'s code (`doctor`'s 1) instead of raising.
        code = cli.main(args=argv, prog_name="custodian", standalone_mode=False)
    except CustodianError as exc:
        click.echo(f"custodian: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("custodian: aborted", err=True)
        return 1
    except click.ClickException as exc:
        click.echo(f"custodian: {exc.format_message()}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1
    except UnicodeError:  # a passphrase or name that is not UTF-8 (secrets: _io.py says so)
        click.echo("custodian: the input is not UTF-8 text", err=True)
        return 2
    except Exception as exc:
        if os.environ.get("CUSTODIAN_DEBUG"):
            raise
        click.echo(
            f"custodian: internal error ({type(exc).__name__}); set CUSTODIAN_DEBUG=1 for details",
            err=True,
        )
        return 1
    return code if isinstance(code, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
