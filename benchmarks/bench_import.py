"""Import throughput: a 10,000-entry KeePass database and a 50,000-row CSV.

    .venv/bin/python benchmarks/bench_import.py [--entries 10000] [--rows 50000]
        [--db postgresql+psycopg://postgres@127.0.0.1:5432/DBNAME]

Each import runs into a fresh vault (a temporary SQLite file, or the empty PostgreSQL
database given with --db, which must hold no vault) as one transaction, exactly as
`custodian import` does: every credential sealed with HPKE, every change an access
event. Parsing and importing are timed separately; prints a table. In the common runner:
`python -m benchmarks --only import [--quick]` (1,000 entries / 5,000 rows).
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from custodian.crypto import KdfParams
from custodian.exchange.importers import Rule
from custodian.exchange.importers.kdbx import read_kdbx
from custodian.exchange.importers.tabular import read_csv
from custodian.service import Custodian

if TYPE_CHECKING:  # not imported: `python benchmarks/bench_import.py` runs without ROOT on the path
    from benchmarks import Size

PASS = "benchmark passphrase"
KINDS = ("dc01", "sql01", "core-sw", "fw", "mfp", "app")


def make_kdbx(path: Path, entries: int) -> None:
    """A KDBX 4 with `entries` entries under 50 customers x 6 systems (cheap Argon2)."""
    from pykeepass import create_database

    kp = create_database(str(path), password=PASS)
    params = kp.kdbx.header.value.dynamic_header.kdf_parameters.data.dict
    params["M"].value, params["I"].value = 1024 * 1024, 1
    groups = {}
    for i in range(entries):
        c, s = f"Customer {i % 50:02d}", KINDS[(i // 50) % len(KINDS)]
        if (c, s) not in groups:
            top = groups.get(c) or kp.add_group(kp.root_group, c)
            groups[c] = top
            groups[(c, s)] = kp.add_group(top, s)
        kp.add_entry(
            groups[(c, s)],
            f"account {i}",
            f"user{i}",
            f"pw-{i}-x9!",
            url=f"https://{s}.example.invalid",
            force_creation=True,
        )
    kp.save()


def make_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["Organization", "Asset", "Name", "Username", "Password", "URL", "Notes"])
        for i in range(rows):
            w.writerow(
                [
                    f"Customer {i % 200:03d}",
                    KINDS[(i // 200) % len(KINDS)],
                    f"account {i}",
                    f"user{i}",
                    f"pw-{i}-x9!",
                    "",
                    f"row {i}",
                ]
            )


def fresh_vault(db: str | None, tmp: Path, name: str) -> Custodian:
    vault = Custodian.open(db or tmp / f"{name}.db", create=True)
    vault.init("admin", PASS, kdf=KdfParams.floor())
    return vault


def run(label: str, parse, db: str | None, tmp: Path) -> dict[str, float]:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    parsed = parse()
    t1 = time.perf_counter()
    vault = fresh_vault(db, tmp, label)
    try:
        admin = vault.unlock("admin", PASS)
        t2 = time.perf_counter()
        report = admin.import_items(parsed.items, source=label)
        t3 = time.perf_counter()
    finally:
        vault.close()
    n = len(report.created)
    return {
        "rows": n,
        "parse_s": t1 - t0,
        "import_s": t3 - t2,
        "total_s": (t1 - t0) + (t3 - t2),
        "rows_per_s": n / ((t1 - t0) + (t3 - t2)),
    }


def measure(entries: int, rows: int, db: str | None = None) -> list[tuple[str, dict[str, float]]]:
    """Make the inputs in a temporary directory and import each into a fresh vault."""
    results = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if entries:
            kdbx = tmp / "bench.kdbx"
            t = time.perf_counter()
            make_kdbx(kdbx, entries)
            print(
                f"made {kdbx.name}: {entries} entries in {time.perf_counter() - t:.1f} s",
                file=sys.stderr,
            )
            results.append(
                ("kdbx", run("kdbx", lambda: read_kdbx(kdbx, PASS, Rule(map_groups=True)), db, tmp))
            )
        if rows:
            f = tmp / "bench.csv"
            make_csv(f, rows)
            cols = (
                "customer=Organization,system=Asset,name=Name,username=Username,"
                "password=Password,url=URL,notes=Notes"
            )
            results.append(("csv", run("csv", lambda: read_csv(f, Rule(), columns=cols), db, tmp)))
    return results


def runner_rows(size: Size) -> list[str]:
    """This benchmark's rows in the common runner's table (benchmarks/run.py): a KDBX
    and a CSV import into SQLite (`quick`: 1,000 entries / 5,000 rows; `smoke`: 20 / 50)."""
    entries, rows = {"full": (10_000, 50_000), "quick": (1_000, 5_000), "smoke": (20, 50)}[size]
    return [
        f"| import {name.upper()}, SQLite | {r['rows_per_s']:,.0f} rows/s | - | - |"
        f" {r['rows']:,.0f} credentials in {r['total_s']:.1f} s (parse {r['parse_s']:.1f} s,"
        f" import {r['import_s']:.1f} s, one transaction, each sealed and logged) |"
        for name, r in measure(entries, rows)
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=10_000)
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--db", help="an EMPTY PostgreSQL database URL (default: temp SQLite)")
    args = ap.parse_args()
    if args.db and args.entries and args.rows:
        sys.exit("with --db, run one import at a time (--entries 0 or --rows 0)")
    results = measure(args.entries, args.rows, args.db)
    backend = "postgresql" if args.db else "sqlite"
    print(
        f"{'import':8} {'backend':10} {'rows':>7} {'parse s':>8} {'import s':>9} "
        f"{'total s':>8} {'rows/s':>8}"
    )
    for name, r in results:
        print(
            f"{name:8} {backend:10} {r['rows']:>7} {r['parse_s']:>8.2f} {r['import_s']:>9.2f} "
            f"{r['total_s']:>8.2f} {r['rows_per_s']:>8.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
