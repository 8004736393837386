"""Setting up: init, technicians, customers, systems, grants."""

from __future__ import annotations

import os
from typing import Any

import click

from .. import BackendConfig, KdfParams, PolicyChange, Role, SystemKind, parse_time, utcnow
from . import FORMATS
from ._context import CliContext
from ._io import PASSPHRASE_ENV, emit, read_new_secret, say
from ._rotation_io import add_system, rotate_now, target_options

pass_ctx = click.make_pass_decorator(CliContext)


@click.command()
@click.option("--admin", "admin", required=True, help="Username of the first administrator.")
@click.option(
    "--kdf-seconds",
    type=float,
    default=0.5,
    show_default=True,
    help="Target cost of one unlock; never below RFC 9106's floor.",
)
@click.option(
    "--backend",
    type=click.Choice(["sql", "vault"]),
    default="sql",
    show_default=True,
    help="Where secret payloads live (docs/vault-backend.md).",
)
@click.option("--vault-addr", help="Vault/OpenBao address ($VAULT_ADDR wins when set).")
@click.option("--vault-mount", default="secret", show_default=True, help="KV v2 mount.")
@click.option("--vault-prefix", default="custodian", show_default=True, help="Path prefix.")
@click.option(
    "--vault-auth-mount",
    default="userpass",
    show_default=True,
    help="Auth mount whose users are the technicians.",
)
@pass_ctx
def init(
    ctx: CliContext,
    admin: str,
    kdf_seconds: float,
    backend: str,
    vault_addr: str | None,
    vault_mount: str,
    vault_prefix: str,
    vault_auth_mount: str,
) -> None:
    """Create a vault and its first admin; prints the recovery code once."""
    # Before anything is created: a mistyped passphrase leaves no file or directory behind.
    passphrase = os.environ.get(PASSPHRASE_ENV) or read_new_secret("passphrase for " + admin)
    # A Vault store is checked first: reachable, token valid, mount there.
    vault = ctx.create_vault(
        BackendConfig(backend, vault_addr, vault_mount, vault_prefix, vault_auth_mount)
    )
    kdf = KdfParams.floor() if kdf_seconds <= 0 else KdfParams.calibrate(kdf_seconds)
    result = vault.init(admin, passphrase, kdf=kdf)
    say(
        f"vault created for {admin} (unlock costs Argon2id m={kdf.memory_kib} KiB,"
        f" t={kdf.iterations}, p={kdf.lanes})"
    )
    say(
        f"vault fingerprint {result.fingerprint}: every member's `custodian whoami` must"
        " show the same"
    )
    say("RECOVERY CODE (shown once; keep it in a safe, offline):")
    click.echo(result.recovery_code.display())


@click.group()
def tech() -> None:
    """Technicians: enrol and list."""


@tech.command("add")
@click.argument("name")
@click.option(
    "--role", type=click.Choice([r.value for r in Role]), default="technician", show_default=True
)
@pass_ctx
def tech_add(ctx: CliContext, name: str, role: str) -> None:
    """Enrol NAME; their initial passphrase is read from stdin or a hidden prompt."""
    actor = ctx.actor()
    passphrase = read_new_secret(f"initial passphrase for {name}")
    actor.add_technician(name, Role(role), passphrase)
    say(f"enrolled {name} as {role}")
    say(
        f"vault fingerprint {actor.whoami().fingerprint}: tell {name} to check that"
        " `custodian whoami` shows the same"
    )


@tech.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table")
@pass_ctx
def tech_list(ctx: CliContext, fmt: str) -> None:
    rows = [t.to_dict() for t in ctx.actor().list_technicians()]
    emit(rows, ["username", "role", "active", "created_at"], fmt)


@click.group()
def customer() -> None:
    """Customers: add, list, show."""


@customer.command("add")
@click.argument("slug")
@click.option("--name", required=True, help="Display name.")
@click.option("--require-reason", is_flag=True, help="Every reveal needs a reason.")
@click.option("--reason-pattern", help="A regular expression the reason must match.")
@pass_ctx
def customer_add(
    ctx: CliContext, slug: str, name: str, require_reason: bool, reason_pattern: str | None
) -> None:
    """Add customer SLUG. Nobody is granted until `custodian grant`."""
    ctx.actor().add_customer(
        slug, name, require_reason=require_reason, reason_pattern=reason_pattern
    )
    say(f"added customer {slug}")


@customer.command("edit")
@click.argument("slug")
@click.option("--name", help="New display name.")
@click.option(
    "--require-reason/--no-require-reason",
    default=None,
    help="Whether every reveal needs a reason (--no-require-reason drops the pattern).",
)
@click.option("--reason-pattern", help="A regular expression the reason must match.")
@click.option("--no-reason-pattern", is_flag=True, help="Drop the reason pattern.")
@click.option(
    "--otp-seed",
    type=click.Choice(["admins", "granted"]),
    help="Who may reveal TOTP seeds (get --field otp-seed); the code stays open to all.",
)
@click.option(
    "--max-age",
    type=click.IntRange(0, 3650),
    metavar="DAYS",
    help="Passwords older than this go on the rotation worklist (0: no limit).",
)
@pass_ctx
def customer_edit(
    ctx: CliContext,
    slug: str,
    name: str | None,
    require_reason: bool | None,
    reason_pattern: str | None,
    no_reason_pattern: bool,
    otp_seed: str | None,
    max_age: int | None,
) -> None:
    """Change customer SLUG's name, reason policy, TOTP seed policy or password age
    (recorded in the log)."""
    actor = ctx.actor()
    if otp_seed is not None or max_age is not None:
        got = actor.secret_policy(slug, PolicyChange(otp_seed=otp_seed, max_age_days=max_age))
        age = f"{got['max_age_days']} days" if got["max_age_days"] else "no limit"
        say(f"customer {slug}: TOTP seeds revealed by {got['otp_seed']}; password age {age}")
        if (name, require_reason, reason_pattern, no_reason_pattern) == (None, None, None, False):
            return
    info = actor.edit_customer(
        slug,
        name=name,
        require_reason=require_reason,
        reason_pattern=reason_pattern,
        clear_pattern=no_reason_pattern,
    )
    say(
        f"customer {slug}: reason required: {'yes' if info.require_reason else 'no'}"
        + (f", pattern {info.reason_pattern!r}" if info.reason_pattern else "")
    )


@customer.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table")
@pass_ctx
def customer_list(ctx: CliContext, fmt: str) -> None:
    rows = [c.to_dict() for c in ctx.reader().list_customers()]
    emit(rows, ["slug", "name", "status", "require_reason", "credentials"], fmt)


@customer.command("show")
@click.argument("slug")
@click.option("--format", "fmt", type=FORMATS, default="table")
@pass_ctx
def customer_show(ctx: CliContext, slug: str, fmt: str) -> None:
    detail = ctx.actor().show_customer(slug)
    if fmt == "json":
        emit([detail.to_dict()], [], "json")
        return
    c = detail.customer
    click.echo(
        f"{c.slug}: {c.name} ({c.status}); reason required: "
        f"{'yes' if c.require_reason else 'no'}; key version {c.key_version};"
        f" {c.credentials} credentials"
    )
    click.echo("")
    emit([s.to_dict() for s in detail.systems], ["name", "kind", "host"], "table")
    if detail.grants:
        click.echo("")
        emit(
            [g.to_dict() for g in detail.grants],
            ["technician", "granted_by", "granted_at", "expires_at", "write_only"],
            "table",
        )


@click.command()
@click.argument("technician")
@click.argument("slug")
@click.option("--until", help="Expiry: an ISO date/time, or a span such as 8h or 7d.")
@click.option(
    "--write-only",
    is_flag=True,
    help="May add credentials and new versions (setting up a site), never read them.",
)
@pass_ctx
def grant(ctx: CliContext, technician: str, slug: str, until: str | None, write_only: bool) -> None:
    """Grant TECHNICIAN access to customer SLUG."""
    expires = parse_time(until, utcnow(), future=True) if until else None
    ctx.actor().grant(technician, slug, until=expires, write_only=write_only)
    say(
        f"granted {technician} {'write-only ' if write_only else ''}access to {slug}"
        + (f" until {expires:%Y-%m-%d %H:%M} UTC" if expires else "")
    )


@click.command()
@click.argument("technician")
@click.argument("slug")
@click.option(
    "--assume-compromised",
    is_flag=True,
    help="Put every credential of SLUG on the rotation worklist, not only those"
    " TECHNICIAN revealed.",
)
@click.option("--rotate", is_flag=True, help="Then rotate what they saw on the devices.")
@pass_ctx
def revoke(
    ctx: CliContext, technician: str, slug: str, assume_compromised: bool, rotate: bool
) -> None:
    """Revoke TECHNICIAN's access to SLUG and rotate the customer key; what they saw goes
    on the rotation worklist (`custodian rotation list`)."""
    actor = ctx.actor()
    actor.revoke(technician, slug, assume_compromised=assume_compromised)
    pending = len(actor.rotation_list(slug))
    say(
        f"revoked {technician} from {slug}; the customer key was rotated;"
        f" {pending} credential(s) of {slug} on the rotation worklist"
    )
    if rotate:
        rotate_now(actor, slug=slug, technician=technician)


@click.group()
def system() -> None:
    """Systems of a customer."""


@system.command("add")
@click.argument("path", metavar="SLUG/SYSTEM")
@click.option("--kind", type=click.Choice([k.value for k in SystemKind]), required=True)
@click.option("--notes")
@target_options
@pass_ctx
def system_add(ctx: CliContext, /, path: str, kind: str, notes: str | None, **target: Any) -> None:
    """Add a system; the target options say how rotation reaches it (docs/rotation.md)."""
    trust, yes = target.pop("trust_host_key"), target.pop("yes")
    add_system(ctx, path, kind, notes, trust, yes, target)


@system.command("list")
@click.argument("slug")
@click.option("--format", "fmt", type=FORMATS, default="table")
@pass_ctx
def system_list(ctx: CliContext, slug: str, fmt: str) -> None:
    rows = [s.to_dict() for s in ctx.actor().show_customer(slug).systems]
    emit(rows, ["customer", "name", "kind", "host"], fmt)


COMMANDS = [init, tech, customer, grant, revoke, system]
