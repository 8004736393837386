"""Run custodian's benchmarks and print one table; save it under benchmarks/results/.

    make bench                      # or: .venv/bin/python -m benchmarks [--quick]

Every part by default (`--only PART` runs one); each part's module makes its rows:
- reveal (reveal.py): in-process reveal p50/p99 (authorization + access event committed +
  decrypt), 1,000 customers and 100,000 credentials, on SQLite and on a fresh PostgreSQL
  database (created here and dropped afterwards). `--quick`: 100 / 5,000.
- cold (cold.py): cold `custodian get` as a whole process (with and without the session
  agent) against `bao kv get`, `pass show` and `keepassxc-cli show`, each store holding the
  same 1,000 entries and each run fetching a different one (`--quick`: 100 entries).
- unlock (bench_unlock.py): `Custodian.unlock` with the calibrated default KDF and the floor.
- log (bench_log.py): access-log verify rate, queries, appends; 1,000,000 events
  (`--quick`: 100,000).
- import (bench_import.py): a 10,000-entry KDBX and a 50,000-row CSV (`--quick`: 1,000 /
  5,000).
- tui (bench_tui.py): the terminal UI with 10,000 customers and 100,000 credentials
  (`--quick`: 1,000 / 10,000).
- vault (bench_vault.py): reveal through the Vault backend against a bare hvac read on the
  same OpenBao dev server; migrating 10,000 credentials to Vault (`--quick`: 200 reveals,
  200 credentials).
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PARTS = ["reveal", "cold", "unlock", "log", "import", "tui", "vault"]
HEADER = [
    "| benchmark | custodian | peer, same run | custodian / peer | notes |",
    "|---|---|---|---|---|",
]
PEERS = ("bao kv get", "pass show", "keepassxc-cli show")
START_LOAD = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
if str(ROOT) not in sys.path:  # `python benchmarks/run.py` as well as `python -m benchmarks`
    sys.path.insert(0, str(ROOT))


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _pg_database() -> tuple[str, str] | None:
    """A fresh PostgreSQL database for the run: (name, URL), or None if unreachable."""
    try:
        import psycopg

        name = f"custodian_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    except Exception as exc:  # psycopg.OperationalError and friends
        _say(f"PostgreSQL unavailable, skipped: {type(exc).__name__}")
        return None
    return name, f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def _drop_pg(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]


def reveal_rows(customers: int, credentials: int, samples: int, pg: bool) -> list[str]:
    import tempfile

    from benchmarks import reveal

    rows = []
    work = Path(tempfile.mkdtemp(prefix="rbench-"))
    targets = [("SQLite", f"sqlite:///{work / 'vault.db'}", None)]
    if pg and (made := _pg_database()):
        targets.append(("PostgreSQL", made[1], made[0]))
    for label, url, pg_name in targets:
        _say(f"reveal on {label}: seeding {customers} customers, {credentials} credentials")
        try:
            r = reveal.measure(url, label, customers, credentials, samples, _say)
        finally:
            if pg_name:
                _drop_pg(pg_name)
        rows.append(
            f"| reveal, {label} | p50 {r.p50_ms:.2f} ms, p99 {r.p99_ms:.2f} ms | - | - | "
            f"{r.credentials:,} credentials, {r.customers:,} customers; {r.samples:,} reveals;"
            f" CPU time p50 {r.cpu_p50_ms:.2f} ms;"
            f" first reveal of a customer (key unwrap) p50 {r.first_p50_ms:.2f} ms;"
            f" seeding took {r.seed_seconds:.0f} s |"
        )
    for p in work.iterdir():
        p.unlink()
    work.rmdir()
    return rows


def cold_rows(runs: int, entries: int) -> list[str]:
    from benchmarks import cold

    timings = cold.measure(runs, _say, entries)
    by_name = {t.name: t for t in timings}
    agent = by_name.get("custodian get (agent)")
    plain = by_name.get("custodian get (agent, regular install)")
    rows = []
    for t in timings:
        note = f"median of {t.runs}; {t.note}"
        if agent and (t.name in PEERS or t.name.startswith("python")):  # a peer, or the floor
            if plain and t.name in PEERS:
                note += f"; regular install / peer = {plain.median_ms / t.median_ms:.2f}"
            name = f"`{t.name}`" if t.name in PEERS else t.name
            rows.append(
                f"| cold get vs {name} | {agent.median_ms:.1f} ms (agent) |"
                f" {t.median_ms:.1f} ms | {agent.median_ms / t.median_ms:.2f} |"
                f" peer: {note} |"
            )
        else:
            rows.append(f"| cold {t.name} | {t.median_ms:.1f} ms | - | - | {note} |")
    return rows


def machine() -> list[str]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return [
        f"- load average at the start: {START_LOAD[0]:.2f} {START_LOAD[1]:.2f}"
        f" {START_LOAD[2]:.2f} (other work on the machine inflates wall-clock figures;"
        " the reveal's CPU time does not)",
        f"- host: {socket.gethostname()}, {platform.platform()}",
        f"- CPUs: {os.cpu_count()}; load average at the end: {load[0]:.2f} {load[1]:.2f}"
        f" {load[2]:.2f}",
        f"- Python {platform.python_version()} ({sys.executable})",
        f"- run: {datetime.now(UTC).isoformat(timespec='seconds')}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, fewer runs")
    parser.add_argument("--no-pg", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--only", choices=PARTS, help="run one part")
    parser.add_argument("--no-save", action="store_true", help="print only")
    args = parser.parse_args(argv)
    q = args.quick
    customers, credentials = (100, 5_000) if q else (1_000, 100_000)
    samples, runs = (300, 10) if q else (2_000, 30)

    rows = list(HEADER)
    for part in [args.only] if args.only else PARTS:
        _say(f"== {part}")
        if part == "reveal":
            rows += reveal_rows(customers, credentials, samples, pg=not args.no_pg)
        elif part == "cold":
            rows += cold_rows(runs, 100 if q else 1_000)
        elif part == "log":  # the access log (issue 3)
            from benchmarks import bench_log

            rows += bench_log.runner_rows(q, pg=not args.no_pg)
        else:  # each of these modules has `runner_rows(quick)`
            from importlib import import_module

            rows += import_module(f"benchmarks.bench_{part}").runner_rows(q)
    title = "# custodian benchmarks" + (" (quick)" if q else "")
    if args.only:
        title += f": {args.only} only"
    text = "\n".join([title, "", *machine(), "", *rows, ""])
    print(text)
    if not args.no_save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y-%m-%d")
        suffix = ("-quick" if q else "") + (f"-{args.only}" if args.only else "")
        name = f"{stamp}-{socket.gethostname()}{suffix}"
        out = RESULTS / f"{name}.md"
        for n in range(2, 100):  # an earlier run of the same day stays
            if not out.exists():
                break
            out = RESULTS / f"{name}-{n}.md"
        out.write_text(text)
        _say(f"saved {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
