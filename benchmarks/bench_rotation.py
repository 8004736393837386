"""Rotation on the device: 200 SSH accounts (a private sshd) and 200 LDAP entries (a
private slapd) rotated with `rotation run` at concurrency 1 and 8; total time, the p50 of
one rotation (seal, change, verify, settle) and the speed-up. Needs root (test accounts)
and openssh-server and slapd (scripts/ensure-services.sh). `quick`: 40 each; `smoke`: 4.

    sudo .venv/bin/python benchmarks/bench_rotation.py [--accounts 200]
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
from custodian.db.models import SystemKind  # noqa: E402
from custodian.secret import SecretPayload  # noqa: E402
from custodian.service import ActorSession, Custodian  # noqa: E402
from custodian.service.rotator import TargetSettings  # noqa: E402
from tests.rotation.directories import Slapd  # noqa: E402
from tests.rotation.servers import Sshd  # noqa: E402

PASS = "benchmark passphrase"
OLD = "Bench-old-pass-1!"
CONCURRENCY = (1, 8)


def _customer(admin: ActorSession, slug: str, settings: TargetSettings, kind: SystemKind) -> None:
    admin.add_customer(slug, slug.upper())
    admin.grant("admin", slug)
    admin.rotator().add_system(f"{slug}/target", kind, settings)


def measure(accounts: int) -> list[tuple[str, int, float, float]]:
    """(target, concurrency, total seconds, p50 seconds) for each run."""
    out = []
    with tempfile.TemporaryDirectory(prefix="custodian-bench-rotation-") as tmp:
        root = Path(tmp)
        (root / "sshd").mkdir()
        (root / "slapd").mkdir()
        sshd, slapd = Sshd(root / "sshd"), Slapd(root / "slapd")
        try:
            sshd.start()
            slapd.start()
            with Custodian.open(root / "vault.db", create=True) as vault:
                vault.init("admin", PASS, kdf=KdfParams.floor())
                admin = vault.unlock("admin", PASS)
                ssh = TargetSettings(host=sshd.host, port=sshd.port, host_key=sshd.host_key)
                _customer(admin, "ssh", ssh, SystemKind.LINUX)
                ldap = TargetSettings(
                    host="127.0.0.1", port=slapd.sport, connector="ldap", ca_file=str(slapd.cert)
                )
                _customer(admin, "ldap", ldap, SystemKind.OTHER)
                for i in range(accounts):
                    payload = SecretPayload({"password": OLD})
                    admin.add_credential(f"ssh/target/a{i}", payload, username=sshd.account(OLD))
                    admin.add_credential(f"ldap/target/a{i}", payload, username=slapd.add_user(OLD))
                for slug in ("ssh", "ldap"):
                    for n in CONCURRENCY:
                        started = time.perf_counter()
                        results = admin.rotator().run(slug=slug, every=True, concurrency=n)
                        total = time.perf_counter() - started
                        bad = [r for r in results if r.outcome != "rotated"]
                        if bad:
                            raise RuntimeError(
                                f"{len(bad)} {slug} rotations failed: {bad[0].error}"
                            )
                        p50 = statistics.median(r.seconds for r in results)
                        out.append((slug.upper(), n, total, p50))
        finally:
            sshd.close()
            slapd.kill()
    return out


def runner_rows(size: Size) -> list[str]:
    """Rows for the common runner's table (benchmarks/run.py)."""
    accounts = {"full": 200, "quick": 40, "smoke": 4}[size]
    results = measure(accounts)
    first = {slug: total for slug, n, total, _ in results if n == 1}
    return [
        f"| rotate {accounts} {slug} accounts, concurrency {n} | {total:.1f} s | - | - |"
        f" p50 {p50 * 1000:.0f} ms per rotation (seal, change, verify, settle);"
        f" speed-up {first[slug] / total:.1f}x over concurrency 1 |"
        for slug, n, total, p50 in results
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=200)
    args = ap.parse_args()
    print(f"{'target':6} {'conc':>4} {'total s':>8} {'p50 ms':>7}")
    for slug, n, total, p50 in measure(args.accounts):
        print(f"{slug:6} {n:>4} {total:>8.2f} {p50 * 1000:>7.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
