"""Vault backend benchmark, against a real `bao server -dev` started here (and stopped).

1. Reveal through custodian's Vault backend (authorization, customer key check, KV read,
   access event committed) against a bare hvac `read_secret_version` of the same secret,
   on the same server in the same run, both with the technician's own Vault token.
   Target: ratio of medians <= 1.3. Also against the same read on custodian's own HTTP
   transport (like for like); with PostgreSQL vault databases (`--pg`); and with Vault
   "on another host": every client behind `delay_proxy` (`--delay-ms`).
2. Migrating N credentials (default 10,000) from the SQL store to Vault: total time.

    .venv/bin/python benchmarks/bench_vault.py [--reveals 2000] [--count 10000] [--pg]
        [--delay-ms 0.5]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.vault.baokit: one way to start a dev server

import hvac  # noqa: E402

from benchmarks import Size  # noqa: E402
from custodian.crypto import KdfParams, KeyPair  # noqa: E402
from custodian.db.models import Role, SystemKind  # noqa: E402
from custodian.exchange.importers import ImportItem  # noqa: E402
from custodian.secret import Secret, SecretPayload  # noqa: E402
from custodian.service import Custodian, payloads  # noqa: E402
from custodian.storage import SecretRef, config  # noqa: E402
from custodian.storage.hashicorp import VaultSecretStore  # noqa: E402
from custodian.storage.hashicorp_http import VaultTransport  # noqa: E402
from tests.vault.baokit import start_bao  # noqa: E402

PASS = "correct horse battery staple"
# `delay_proxy` asked for 0.5 ms each way; asyncio's timers round that up to about 1 ms.
REMOTE = "behind a proxy adding about 1 ms each way"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _row(name: str, samples: list[float]) -> str:
    ms = [s * 1000 for s in samples]
    return f"{name:<44} {statistics.median(ms):>8.3f} {_pct(ms, 0.99):>8.3f}"


def bench_reveal(  # type: ignore[no-untyped-def]
    server, directory: Path, reveals: int, databases: tuple[str, str] | None = None
) -> dict[str, list[float]]:
    """Samples (seconds) of: `ours` (custodian reveal, Vault backend), `theirs` (bare hvac
    read), `backend` (VaultSecretStore.get in one open tx), `on_sql` (SQL backend).
    `databases`: URLs of the two vault databases (Vault backend, SQL backend); default two
    SQLite files in `directory`."""
    on_vault, on_sql_db = databases or (directory / "reveal.db", directory / "reveal-sql.db")
    root = server.client()
    root.sys.enable_auth_method("userpass", path="bench-up")
    admin_store = VaultSecretStore(
        server.addr, server.root_token, prefix="bench", auth_mount="bench-up"
    )
    vault = Custodian.open(on_vault, create=True, store=admin_store)
    vault.init("admin", PASS, kdf=KdfParams.floor())
    admin = vault.unlock("admin", PASS)
    admin.add_technician("alice", Role.TECHNICIAN, PASS)
    admin.add_customer("acme", "Acme")
    admin.add_system("acme/dc01", SystemKind.ACTIVE_DIRECTORY)
    admin.add_credential("acme/dc01/admin", SecretPayload({"password": "bench-secret-1"}))
    admin.grant("alice", "acme")
    # Alice works with her own Vault token (userpass login), as a technician would.
    root.write("auth/bench-up/users/alice", password="alice-vault-pw")
    login = server.client(token="")
    login.auth.userpass.login("alice", "alice-vault-pw", mount_point="bench-up")
    token = str(login.token)
    vault.store = VaultSecretStore(server.addr, token, prefix="bench", auth_mount="bench-up")
    alice = vault.unlock("alice", PASS)
    path = admin_store.path("acme", 1)

    def custodian_reveal() -> None:
        assert alice.reveal("acme/dc01/admin").reveal() == "bench-secret-1"

    def read_with(client: hvac.Client) -> Callable[[], None]:
        def read() -> None:
            data = client.secrets.kv.v2.read_secret_version(
                path=path, version=1, mount_point="secret", raise_on_deleted_version=True
            )
            assert data["data"]["data"]["password"] == "bench-secret-1"

        return read

    hvac_read = read_with(server.client(token=token))  # hvac's default requests session
    # The same read on the transport custodian gives hvac (urllib3, settled once): the
    # like-for-like reference, printed beside the default one.
    lean_read = read_with(
        hvac.Client(url=server.addr, token=token, timeout=10, adapter=VaultTransport)
    )

    ref = SecretRef(1, "acme", 1, 1, 1, 1)  # KV version 1: its first write
    key = KeyPair.generate()

    # The same reveal on the SQL backend: the service's own cost (authorization, access
    # event committed durably, HPKE open), which a Vault reveal pays on top of the read.
    sql_vault = Custodian.open(on_sql_db, create=True)
    sql_vault.init("admin", PASS, kdf=KdfParams.floor())
    sql_admin = sql_vault.unlock("admin", PASS)
    sql_admin.add_customer("acme", "Acme")
    sql_admin.add_system("acme/dc01", SystemKind.ACTIVE_DIRECTORY)
    sql_admin.add_credential("acme/dc01/admin", SecretPayload({"password": "bench-secret-1"}))
    sql_admin.grant("admin", "acme")

    def sql_reveal() -> None:
        assert sql_admin.reveal("acme/dc01/admin").reveal() == "bench-secret-1"

    tx_holder = vault.db.transaction()
    tx = tx_holder.__enter__()  # one open transaction: measure the store, not SQLite commits

    def store_get() -> None:  # the backend alone: key check, KV read
        payload = payloads.read(vault.store, tx, ref, lambda: key)()
        assert payload["password"].reveal() == "bench-secret-1"

    ours: list[float] = []
    theirs: list[float] = []
    backend: list[float] = []
    on_lean: list[float] = []
    for fn in (hvac_read, store_get, lean_read):  # warm up (connections, caches)
        for _ in range(50):
            fn()
    for _ in range(reveals // 100):  # alternate in blocks, so drift hits all alike
        for fn, out in ((hvac_read, theirs), (store_get, backend), (lean_read, on_lean)):
            for _ in range(100):
                start = time.perf_counter()
                fn()
                out.append(time.perf_counter() - start)
    tx_holder.__exit__(None, None, None)
    on_sql: list[float] = []
    for _ in range(50):
        custodian_reveal()
        sql_reveal()
    for _ in range(reveals // 100):
        for fn, out in ((custodian_reveal, ours), (hvac_read, theirs), (sql_reveal, on_sql)):
            for _ in range(100):
                start = time.perf_counter()
                fn()
                out.append(time.perf_counter() - start)
    vault.close()
    sql_vault.close()
    return {
        "ours": ours,
        "theirs": theirs,
        "backend": backend,
        "on_sql": on_sql,
        "lean": on_lean,
    }


def print_reveal(samples: dict[str, list[float]], database: str = "SQLite") -> None:
    ours, theirs, backend = samples["ours"], samples["theirs"], samples["backend"]
    title = f"reveal, {len(ours)} each ({database} vault db)"
    print(f"{title:<44} {'p50 ms':>8} {'p99 ms':>8}")
    print(_row("custodian reveal (Vault backend)", ours))
    print(_row("bare hvac read_secret_version", theirs))
    print(_row("the same on custodian's transport", samples["lean"]))
    print(_row("VaultSecretStore.get alone (one open tx)", backend))
    print(_row("custodian reveal (SQL backend, for scale)", samples["on_sql"]))
    ratio = statistics.median(ours) / statistics.median(theirs)
    print(f"{'ratio reveal / bare read (target <= 1.3)':<44} {ratio:>8.2f}")
    ratio = statistics.median(ours) / statistics.median(samples["lean"])
    print(f"{'ratio reveal / read on the same transport':<44} {ratio:>8.2f}")
    ratio = statistics.median(backend) / statistics.median(theirs)
    print(f"{'ratio store read / bare read':<44} {ratio:>8.2f}")
    print("(a reveal also commits its access event durably before returning)")


def bench_migrate(server, directory: Path, count: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Fill `count` credentials into SQL, migrate them to Vault: (fill s, migrate s)."""
    vault = Custodian.open(directory / "migrate.db", create=True)
    vault.init("admin", PASS, kdf=KdfParams.floor())
    admin = vault.unlock("admin", PASS)
    per_customer = 100
    start = time.perf_counter()
    items = [
        ImportItem(
            f"bench:{i}",
            f"c{i // per_customer:04d}",
            "sys",
            f"k{i % per_customer}",
            {"password": Secret(f"v-{i}")},
        )
        for i in range(count)
    ]
    admin.import_items(items, source="bench")
    filled = time.perf_counter() - start
    target = config.BackendConfig("vault", server.addr, "secret", "bench-migrate")
    shown = [-1]

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty() and done * 10 // total != shown[0]:
            shown[0] = done * 10 // total
            print(f"\r  migrating: {done}/{total}", end="", file=sys.stderr, flush=True)

    import os

    os.environ["VAULT_TOKEN"] = server.root_token
    start = time.perf_counter()
    result = admin.migrate(target, progress=progress)
    took = time.perf_counter() - start
    if sys.stderr.isatty():
        print(file=sys.stderr)
    assert result.versions == count
    vault.close()
    return filled, took


def with_server(fn, delay_ms: float = 0.0):  # type: ignore[no-untyped-def]
    """Run `fn(server, directory)` against a dev server started (and stopped) here; with
    `delay_ms`, every client reaches it through `delay_proxy` (that delay each way)."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        server = start_bao(directory)
        proxy = None
        try:
            if delay_ms:
                proxy = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "benchmarks.delay_proxy",
                        server.addr[7:],
                        str(delay_ms),
                    ],
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                port = int(proxy.stdout.readline())  # type: ignore[union-attr]
                server = dataclasses.replace(server, addr=f"http://127.0.0.1:{port}")
            return fn(server, directory)
        finally:
            if proxy is not None:
                proxy.terminate()
                proxy.wait()
            server.stop()


def runner_rows(size: Size, pg: bool = True) -> list[str]:
    """This benchmark's rows in the common runner's table (benchmarks/run.py): reveals
    timed and credentials migrated (`--quick`: 200 / 200; `--smoke`: 100, one block, / 10);
    with `pg` also on PostgreSQL vault databases, when the server is up."""
    reveals, count = {"full": (2_000, 10_000), "quick": (200, 200), "smoke": (100, 10)}[size]

    def both(server, directory: Path):  # type: ignore[no-untyped-def]
        return bench_reveal(server, directory, reveals), bench_migrate(server, directory, count)

    samples, (filled, took) = with_server(both)
    rows = _reveal_rows(samples, "SQLite")
    on_pg = _on_postgres(reveals) if pg else None
    if on_pg is not None:
        rows += _reveal_rows(on_pg, "PostgreSQL")
    # Vault on another host: every client reaches it through a proxy that delays each way.
    remote = with_server(lambda server, directory: bench_reveal(server, directory, reveals), 0.5)
    rows += _reveal_rows(remote, "SQLite", f"; Vault {REMOTE}")
    rows.append(
        f"| migrate --to vault, {count:,} credentials | {took:.1f} s | - | - |"
        f" {took / count * 1000:.2f} ms each, written, read back and compared; filled in"
        f" SQL by one import in {filled:.1f} s |"
    )
    return rows


def _on_postgres(reveals: int, delay_ms: float = 0.0) -> dict[str, list[float]] | None:
    """The reveal benchmark with both vault databases on PostgreSQL, if it is reachable."""
    from benchmarks.run import _drop_pg, _pg_database

    made = [db for db in (_pg_database(), _pg_database()) if db is not None]
    try:
        if len(made) < 2:
            return None
        urls = (made[0][1], made[1][1])
        return with_server(  # type: ignore[no-any-return]
            lambda server, directory: bench_reveal(server, directory, reveals, urls), delay_ms
        )
    finally:
        for name, _ in made:
            _drop_pg(name)


def _reveal_rows(samples: dict[str, list[float]], database: str, where: str = "") -> list[str]:
    """Rows for one run of `bench_reveal`: `database` holds the vault, `where` says where
    Vault was if not on loopback."""
    theirs = statistics.median(samples["theirs"]) * 1000
    rows = []
    for key, name, note in (
        (
            "ours",
            "reveal via the Vault backend",
            f"authorization, KV read, access event committed ({database} vault db{where});"
            " target ratio <= 1.3",
        ),
        (
            "backend",
            "VaultSecretStore.get alone",
            "kv_version lookup, key check, KV read; one open transaction",
        ),
    ):
        ms = [v * 1000 for v in samples[key]]
        p50, p99 = statistics.median(ms), _pct(ms, 0.99)
        rows.append(
            f"| {name} ({database}{where}), p50 | {p50:.2f} ms (p99 {p99:.2f} ms) |"
            f" bare hvac read_secret_version p50 {theirs:.2f} ms |"
            f" {p50 / theirs:.2f} | {note}; {len(ms):,} samples against"
            f" {len(samples['theirs']):,} bare reads, alternated in blocks of 100; both with"
            " the technician's own token |"
        )
    ours, lean = (statistics.median(samples[k]) * 1000 for k in ("ours", "lean"))
    rows.append(
        f"| reveal via the Vault backend ({database}{where}), like for like, p50 |"
        f" {ours:.2f} ms |"
        f" hvac read_secret_version on custodian's transport p50 {lean:.2f} ms |"
        f" {ours / lean:.2f} | the reference read over custodian's urllib3 transport"
        " (storage/hashicorp_http.py) instead of hvac's default requests session |"
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reveals", type=int, default=2000)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--pg", action="store_true", help="also reveal with PostgreSQL vault dbs")
    parser.add_argument(
        "--delay-ms",
        type=float,
        default=0.0,
        help="reach Vault through a proxy adding this delay each way (a remote Vault)",
    )
    args = parser.parse_args()

    def both(server, directory: Path) -> None:  # type: ignore[no-untyped-def]
        print(f"OpenBao dev server at {server.addr} (pid {server.pid})\n")
        print_reveal(bench_reveal(server, directory, args.reveals))
        if args.count:
            filled, took = bench_migrate(server, directory, args.count)
            print(f"\nfilled {args.count} credentials in SQL (one import) in {filled:.1f} s")
            print(
                f"migrate --to vault: {args.count} credentials in {took:.1f} s"
                f" ({took / args.count * 1000:.2f} ms each, each written, read back and"
                " compared)"
            )

    with_server(both, args.delay_ms)
    on_pg = _on_postgres(args.reveals, args.delay_ms) if args.pg else None
    if on_pg is not None:
        print_reveal(on_pg, "PostgreSQL")


if __name__ == "__main__":
    main()
