"""Lifecycle costs: a revoke (customer key rotation), an admin removal (organization key
rotation and every customer key rotated), a purge, and the lapsed-grant sweep that runs
at the start of every admin action.

    .venv/bin/python benchmarks/bench_lifecycle.py [--customers 200] [--repeat 5]
        [--db postgresql+psycopg://postgres@127.0.0.1:5432/DBNAME]

Builds a fresh vault (a temporary SQLite file, or the empty PostgreSQL database given
with --db) with `--customers` customers of 5 credentials each, then times each
operation; prints a table of medians in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from custodian.crypto import KdfParams
from custodian.db.models import Role, SystemKind
from custodian.secret import SecretPayload
from custodian.service import Custodian

PASS = "benchmark passphrase"


def timed(fn: Callable[[], object], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", help="an empty PostgreSQL database URL (default: SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or str(Path(tmp) / "bench.db")
        vault = Custodian.open(url, create=True)
        vault.init("admin", PASS, kdf=KdfParams.floor())
        admin = vault.unlock("admin", PASS)
        admin.add_technician("bob", Role.TECHNICIAN, PASS)
        start = time.perf_counter()
        for i in range(args.customers):
            slug = f"c{i:04d}"
            admin.add_customer(slug, f"Customer {i}")
            admin.add_system(f"{slug}/srv", SystemKind.OTHER)
            for j in range(5):
                admin.add_credential(f"{slug}/srv/cred{j}", SecretPayload({"password": f"p{j}"}))
        build = time.perf_counter() - start
        admin.grant("bob", "c0000")

        def revoke() -> None:
            admin.revoke("bob", "c0000")
            admin.grant("bob", "c0000")

        def admin_removal() -> None:
            admin.set_role("bob", Role.ADMIN)
            admin.set_role("bob", Role.TECHNICIAN)

        purged = iter(range(1, args.customers))

        def purge() -> None:
            admin.purge(f"c{next(purged):04d}", now=True)

        rows = [
            ("sweep at an admin action (nothing lapsed)", timed(admin._sweep_lapsed, 50)),
            ("revoke + grant again (1 customer key rotation)", timed(revoke, args.repeat)),
            (
                f"demote an admin ({args.customers} customer keys rotated)",
                timed(admin_removal, args.repeat),
            ),
            ("purge one customer (incl. VACUUM on SQLite)", timed(purge, args.repeat)),
        ]
        vault.close()
    backend = "PostgreSQL" if args.db else "SQLite"
    print(f"{backend}, {args.customers} customers x 5 credentials (built in {build:.1f} s)")
    width = max(len(name) for name, _ in rows)
    print(f"{'operation'.ljust(width)}  median ms")
    for name, ms in rows:
        print(f"{name.ljust(width)}  {ms:9.1f}")


if __name__ == "__main__":
    main()
