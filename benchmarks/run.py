"""Run custodian's benchmarks and print one table; save it under benchmarks/results/.

    make bench                      # or: .venv/bin/python -m benchmarks [--quick]

Every part by default (`--only PART`, repeatable, runs those); each part's module makes its
rows, in three sizes: full (the default), `--quick`, and `--smoke` (the smallest that runs
every step, seconds a part: for tests/bench; its figures mean nothing):
- reveal (reveal.py): in-process reveal p50/p99 (authorization + access event committed +
  decrypt), 1,000 customers and 100,000 credentials, on SQLite and on a fresh PostgreSQL
  database (created here and dropped afterwards). `--quick`: 100 / 5,000.
- cold (cold.py): cold `custodian get` as a whole process (with and without the session
  agent) against `bao kv get`, `pass show` and `keepassxc-cli show`, each store holding the
  same 1,000 entries and each run fetching a different one (`--quick`: 100 entries); the
  custodian figure is of this venv's install, editable or regular (its row says which),
  beside a regular install's.
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
- server (bench_server.py): `custodian serve` on loopback (SQLite): a reveal through it
  against the same reveal in direct database mode; audited reads per second of 50
  concurrent clients against OpenBao with a file audit device; cold `custodian --server
  URL get` against `bao kv get` (`--quick`: 100 reveals, 1 s of reads, no
  20-client run, 3 cold runs).
- rotation (bench_rotation.py): 200 SSH accounts and 200 LDAP entries rotated on a private
  sshd and slapd at concurrency 1 and 8 (`--quick`: 40 each); needs root.

A part that fails does not end the run: its row in the table says so with its error, the
traceback goes to stderr, the other parts run, the table is printed and saved with every
row measured, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
HEADER = [
    "| benchmark | custodian | peer, same run | custodian / peer | notes |",
    "|---|---|---|---|---|",
]
START_LOAD = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
if str(ROOT) not in sys.path:  # `python benchmarks/run.py` as well as `python -m benchmarks`
    sys.path.insert(0, str(ROOT))

from benchmarks import Size  # noqa: E402


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


def reveal_rows(size: Size, pg: bool) -> list[str]:
    import tempfile

    from benchmarks import reveal

    customers, credentials, samples = {
        "full": (1_000, 100_000, 2_000),
        "quick": (100, 5_000, 300),
        "smoke": (3, 30, 20),
    }[size]
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


def cold_rows(size: Size, pg: bool) -> list[str]:
    from benchmarks import cold

    runs, entries, slow_runs = {  # slow_runs: the no-agent CLI and keepassxc-cli
        "full": (30, 1_000, 10),
        "quick": (10, 100, 3),
        "smoke": (2, 5, 1),
    }[size]
    timings = cold.measure(runs, _say, entries, slow_runs)
    by_kind = {t.kind: t for t in timings}
    agent = by_kind.get("agent")
    plain = by_kind.get("agent, regular copy")
    rows = []
    for t in timings:
        note = f"median of {t.runs}; {t.note}"
        if agent and t.kind in ("peer", "floor"):
            if plain and t.kind == "peer":
                note += f"; regular install / peer = {plain.median_ms / t.median_ms:.2f}"
            name = f"`{t.name}`" if t.kind == "peer" else t.name
            rows.append(
                f"| cold get vs {name} | {agent.median_ms:.1f} ms (agent, {cold.INSTALL}) |"
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


def _module_rows(part: str) -> Callable[[Size, bool], list[str]]:
    """A part whose module `benchmarks/bench_<part>.py` has `runner_rows(size)`."""

    def rows(size: Size, pg: bool) -> list[str]:
        from importlib import import_module

        return import_module(f"benchmarks.bench_{part}").runner_rows(size)  # type: ignore[no-any-return]

    return rows


def log_rows(size: Size, pg: bool) -> list[str]:  # the access log (issue 3)
    from benchmarks import bench_log

    return bench_log.runner_rows(size, pg)


def vault_rows(size: Size, pg: bool) -> list[str]:
    from benchmarks import bench_vault

    return bench_vault.runner_rows(size, pg)


# Each part: (size, PostgreSQL too?) -> its rows of the table. In this order.
PARTS: dict[str, Callable[[Size, bool], list[str]]] = {
    "reveal": reveal_rows,
    "cold": cold_rows,
    "unlock": _module_rows("unlock"),
    "log": log_rows,
    "import": _module_rows("import"),
    "tui": _module_rows("tui"),
    "vault": vault_rows,
    "server": _module_rows("server"),
    "rotation": _module_rows("rotation"),
}


def failure_row(part: str, exc: BaseException, seconds: float) -> str:
    """One table row for a part that raised: the exception, and for a failed command the
    last line it wrote to stderr (tmux's "can't find session: b", say)."""
    error = f"{type(exc).__name__}: {exc}"
    stderr = getattr(exc, "stderr", None)
    if isinstance(stderr, bytes):
        stderr = stderr.decode(errors="replace")
    if isinstance(stderr, str) and stderr.strip():
        error += f" stderr: {stderr.strip().splitlines()[-1]}"
    error = " ".join(error.split()).replace("|", "\\|")
    if len(error) > 400:
        error = error[:397] + "..."
    return f"| {part}: FAILED | - | - | - | after {seconds:.0f} s: {error} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true", help="small sizes, fewer runs")
    sizes.add_argument(
        "--smoke", action="store_true", help="the smallest sizes: checks each part runs"
    )
    parser.add_argument("--no-pg", action="store_true", help="skip PostgreSQL")
    parser.add_argument(
        "--only", action="append", choices=list(PARTS), help="run this part (repeatable)"
    )
    parser.add_argument("--no-save", action="store_true", help="print only")
    parser.add_argument(
        "--results",
        type=Path,
        default=RESULTS,
        metavar="DIR",
        help="where to save the table (default: benchmarks/results/)",
    )
    args = parser.parse_args(argv)
    size: Size = "smoke" if args.smoke else "quick" if args.quick else "full"
    parts = [p for p in PARTS if p in args.only] if args.only else list(PARTS)

    rows = list(HEADER)
    failed = []
    for part in parts:
        _say(f"== {part}")
        start = time.perf_counter()
        try:
            made = PARTS[part](size, not args.no_pg)
            rows += made
            _say(f"== {part}: {len(made)} rows in {time.perf_counter() - start:.0f} s")
        except Exception as exc:  # any part's failure: recorded, and the run goes on
            traceback.print_exc()
            failed.append(part)
            rows.append(failure_row(part, exc, time.perf_counter() - start))
            _say(f"== {part} FAILED; the run goes on")
    title = "# custodian benchmarks" + ("" if size == "full" else f" ({size})")
    if args.only:
        title += f": {', '.join(parts)} only"
    footer = ["", f"**Failed: {', '.join(failed)}** (their rows say why); the other figures stand."]
    text = "\n".join([title, "", *machine(), "", *rows, *(footer if failed else []), ""])
    print(text)
    if not args.no_save:
        args.results.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y-%m-%d")
        suffix = ("" if size == "full" else f"-{size}") + (
            f"-{'-'.join(parts)}" if args.only else ""
        )
        name = f"{stamp}-{socket.gethostname()}{suffix}"
        out = args.results / f"{name}.md"
        for n in range(2, 100):  # an earlier run of the same day stays
            if not out.exists():
                break
            out = args.results / f"{name}-{n}.md"
        out.write_text(text)
        shown = out.resolve()
        _say(f"saved {shown.relative_to(ROOT) if shown.is_relative_to(ROOT) else shown}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
