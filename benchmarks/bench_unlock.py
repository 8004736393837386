"""Unlock cost: `Custodian.unlock` of a technician (Argon2id on the passphrase, then the
private keys opened), in two fresh SQLite vaults:

1. with the parameters `custodian init` calibrates on this machine by default (about
   0.5 s per derivation; never below the floor);
2. at the floor (RFC 9106's second recommendation: 64 MiB, t=3, p=4).

Each unlock is timed `runs` times; the median is reported.

    .venv/bin/python benchmarks/bench_unlock.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import Size  # noqa: E402
from custodian.crypto import KdfParams  # noqa: E402
from custodian.db.models import Role  # noqa: E402
from custodian.service import Custodian  # noqa: E402

PASS = "benchmark passphrase"


def measure(db: Path, kdf: KdfParams | None, runs: int) -> tuple[KdfParams, list[float]]:
    """A new vault at `db` (`kdf=None`: calibrated as `init` does); the vault's KDF
    parameters and `runs` timings (seconds) of one technician's unlock."""
    with Custodian.open(db, create=True) as vault:
        vault.init("admin", PASS, kdf=kdf)
        vault.unlock("admin", PASS).add_technician("tech", Role.TECHNICIAN, PASS)
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            vault.unlock("tech", PASS)
            samples.append(time.perf_counter() - start)
        return vault.vault_kdf(), samples


def measure_both(runs: int) -> list[tuple[str, KdfParams, list[float]]]:
    with tempfile.TemporaryDirectory(prefix="unlockbench-") as tmp:
        return [
            (label, *measure(Path(tmp) / f"{name}.db", kdf, runs))
            for label, name, kdf in (
                ("calibrated default KDF", "calibrated", None),
                ("floor KDF", "floor", KdfParams.floor()),
            )
        ]


def _params(p: KdfParams) -> str:
    return f"Argon2id m={p.memory_kib // 1024} MiB, t={p.iterations}, p={p.lanes}"


def runner_rows(size: Size) -> list[str]:
    """This benchmark's rows in the common runner's table (benchmarks/run.py): 5 unlocks
    each (`--quick`: 3, `--smoke`: 1)."""
    return [
        f"| unlock, {label} ({_params(params)}) | {1000 * statistics.median(s):.0f} ms"
        f" | - | - | median of {len(s)} `Custodian.unlock` of a technician; min"
        f" {1000 * min(s):.0f} ms, max {1000 * max(s):.0f} ms |"
        for label, params, s in measure_both({"full": 5, "quick": 3, "smoke": 1}[size])
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for label, params, s in measure_both(args.runs):
        print(f"{label:<24} {_params(params):<34} median {1000 * statistics.median(s):.0f} ms")


if __name__ == "__main__":
    main()
