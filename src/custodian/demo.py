"""`make demo`: a demo vault in ./demo/vault.db, built and used through the real CLI.

Every step is a `custodian` command, run in this one process through the CLI's own
`main()` (the same code the executable runs) and printed as a shell line first. The
vault is recreated on every run. Everything in it is fictional: customer names, hosts in
the documentation ranges (RFC 5737 addresses, `.example.invalid` names), and passphrases
printed on screen, so never keep real secrets in it. It uses the cheapest Argon2id
custodian allows (`--kdf-seconds 0`) to finish in seconds; a real vault calibrates each
unlock to about half a second.

    python -m custodian.demo [DIRECTORY]      # default: ./demo
"""

from __future__ import annotations

import contextlib
import io
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

ADMIN = "ada"
TECHNICIANS = ("ben", "cleo")
PASSPHRASES = {name: f"demo passphrase of {name}" for name in (ADMIN, *TECHNICIANS)}

# slug, display name, reveals need a reason, address prefix
CUSTOMERS = (
    ("acme", "Acme Corporation", False, "192.0.2"),
    ("globex", "Globex Corporation", False, "198.51.100"),
    ("initech", "Initech", True, "203.0.113"),
)
# system, kind, last octet, credential, account name
SYSTEMS = (
    ("dc01", "active-directory", 10, "administrator", "Administrator"),
    ("sql01", "database", 20, "sa", "sa"),
    ("core-sw", "switch", 2, "admin", "admin"),
    ("edge-rt", "router", 1, "admin", "admin"),
    ("prn-2f", "printer", 40, "admin", "admin"),
)
GRANTS = (("ben", "acme", None), ("ben", "globex", None), ("cleo", "initech", "30d"))

_ENV = ("CUSTODIAN_DB", "CUSTODIAN_USER", "CUSTODIAN_PASSPHRASE", "CUSTODIAN_SESSION")
_sessions: dict[str, str] = {}  # user -> CUSTODIAN_SESSION token from `custodian unlock`


class DemoFailed(Exception):
    """A demo step did not end as expected."""


def _banner(text: str) -> None:
    print(f"\n== {text}", flush=True)


def run(
    argv: Sequence[str],
    *,
    user: str = ADMIN,
    stdin: str | None = None,
    expect: int = 0,
    show: bool = True,
) -> None:
    """Run one `custodian` command as `user`, printed first as the line one would type."""
    from .cli import main

    if show:
        print(f"{user}$ custodian {shlex.join(argv)}" + (" <<< '…'" if stdin else ""), flush=True)
    os.environ["CUSTODIAN_USER"] = user
    os.environ["CUSTODIAN_PASSPHRASE"] = PASSPHRASES[user]
    if user in _sessions:
        os.environ["CUSTODIAN_SESSION"] = _sessions[user]
    else:
        os.environ.pop("CUSTODIAN_SESSION", None)
    saved = sys.stdin
    sys.stdin = io.StringIO(stdin or "")
    try:
        code = main(list(argv))
    finally:
        sys.stdin = saved
        sys.stdout.flush()
        sys.stderr.flush()
    if code != expect:
        raise DemoFailed(f"`custodian {shlex.join(argv)}` exited {code}, expected {expect}")


def unlock(user: str) -> None:
    """`custodian unlock` once per user, so later commands skip the Argon2id unlock. The
    demo keeps the session in its own memory (never in your OS keyring): it asks the CLI
    for the `export CUSTODIAN_SESSION=...` line it prints where no keyring exists."""
    import keyring
    from keyring.backends import null

    # this process only; keyring's backends leave __init__ unannotated
    keyring.set_keyring(null.Keyring())  # type: ignore[no-untyped-call]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        run(["unlock", "--ttl", "10m", "--no-agent"], user=user, show=False)
    _sessions[user] = out.getvalue().strip().partition("=")[2]


def lock_all() -> None:
    for user in list(_sessions):
        with contextlib.redirect_stderr(io.StringIO()):
            run(["lock"], user=user, show=False)
        del _sessions[user]


def _fresh(directory: Path) -> Path:
    """An empty place for the demo vault; an earlier demo vault and its sessions go."""
    from .agent.cache import SessionSlot, forget
    from .db.engine import resolve_url

    directory.mkdir(parents=True, exist_ok=True)
    db = directory / "vault.db"
    for name in (ADMIN, *TECHNICIANS):
        forget(SessionSlot(resolve_url(db), name))
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    return db


def build(db: Path) -> None:
    for key in _ENV:
        os.environ.pop(key, None)
    os.environ["CUSTODIAN_DB"] = str(db)

    _banner(f"A new vault in {db} (demo only: cheapest Argon2id, --kdf-seconds 0)")
    run(["init", "--admin", ADMIN, "--kdf-seconds", "0"])
    unlock(ADMIN)
    for name in TECHNICIANS:
        run(["tech", "add", name], stdin=PASSPHRASES[name] + "\n")
        unlock(name)

    _banner("Customers, each with five systems and a generated credential on each")
    for slug, name, reason, net in CUSTOMERS:
        run(["customer", "add", slug, "--name", name] + (["--require-reason"] if reason else []))
        for system, kind, octet, cred, account in SYSTEMS:
            run(
                ["system", "add", f"{slug}/{system}", "--kind", kind, "--host", f"{net}.{octet}"],
                show=False,
            )
            run(
                [
                    "cred",
                    "add",
                    f"{slug}/{system}/{cred}",
                    "--username",
                    account,
                    "--url",
                    f"https://{system}.{slug}.example.invalid",
                    "--generate",
                ],
                show=False,
            )
        print(
            f"   ... {len(SYSTEMS)} systems and credentials for {slug} (system add, cred add"
            " --generate)",
            flush=True,
        )

    _banner("Grants: creating a customer grants nobody, not even the admin")
    for tech, slug, until in GRANTS:
        run(["grant", tech, slug] + (["--until", until] if until else []))
    run(["cred", "list", "acme"], user="ben")


def use() -> None:
    _banner("Reveals: `get` prints only the value, so $(custodian get ...) works")
    run(["get", "acme/dc01/administrator"], user="ben")
    run(["get", "initech/core-sw/admin", "--reason", "TICKET-4711: replace uplink"], user="cleo")
    run(["get", "acme/dc01/administrator"], user="cleo", expect=4)
    run(["get", "initech/prn-2f/admin"], user="cleo", expect=4)

    _banner("The access log: every reveal, refusal and change, never a secret")
    run(["log"])


def _executable() -> str:
    """How to call `custodian` from here: the script beside this Python, else by name."""
    script = Path(sys.executable).parent / "custodian"
    if not script.exists():
        return "custodian"
    relative = os.path.relpath(script)
    return shlex.quote(relative if not relative.startswith("..") else str(script))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    directory = Path(args[0] if args else "demo")
    try:
        db = _fresh(directory)
        build(db)
        use()
    except DemoFailed as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    finally:
        lock_all()
    _banner("Try it yourself")
    print(f"export CUSTODIAN_DB={shlex.quote(str(db))} CUSTODIAN_USER=ben")
    print(f"{_executable()} get acme/sql01/sa     # passphrase: {PASSPHRASES['ben']}")
    print("# act as another user with CUSTODIAN_USER=NAME; every demo passphrase (fictional):")
    roles = {ADMIN: "admin", **{name: "technician" for name in TECHNICIANS}}
    for name, passphrase in PASSPHRASES.items():
        print(f"#   {name:<5} {roles[name]:<11} {passphrase}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
