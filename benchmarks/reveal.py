"""In-process reveal: authorization, the access event durably committed, the decrypt.

A vault of C customers (each with its own key pair) and N credentials, one technician
granted every customer. Credentials are added in one transaction per customer through
`payloads.write` (HPKE-sealed to the customer's public key, exactly as `add_credential`
seals them); only the per-credential `cred-add` events are left out, so
that seeding 100,000 credentials takes minutes rather than an hour of fsyncs.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import insert, select

from custodian.audit.append import EventDraft, append
from custodian.clock import utcnow
from custodian.crypto import KdfParams, PublicKey
from custodian.db.models import (
    Credential,
    Customer,
    CustomerKey,
    Role,
    SecretVersion,
    System,
    SystemKind,
)
from custodian.secret import SecretPayload
from custodian.service import ActorSession, Custodian, directory, payloads
from custodian.service.enrolment import unpack_private
from custodian.storage import SecretRef

PASS = "benchmark passphrase"
SYSTEMS = (
    ("dc01", SystemKind.ACTIVE_DIRECTORY),
    ("sql01", SystemKind.DATABASE),
    ("sw01", SystemKind.SWITCH),
    ("rt01", SystemKind.ROUTER),
    ("prn01", SystemKind.PRINTER),
)


@dataclass(frozen=True)
class RevealResult:
    backend: str
    customers: int
    credentials: int
    seed_seconds: float
    first_p50_ms: float  # first reveal of a customer: its key is unwrapped
    p50_ms: float
    p99_ms: float
    samples: int
    cpu_p50_ms: float  # this thread's CPU time: what the reveal costs without contention


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def seed(
    vault: Custodian, customers: int, credentials: int, progress: Callable[[str], None]
) -> list[str]:
    """Create the customers, grant `bench` each one, add the credentials; their paths."""
    vault.init("admin", PASS, kdf=KdfParams.floor())
    admin = vault.unlock("admin", PASS)
    admin.add_technician("bench", Role.TECHNICIAN, PASS)
    per = max(1, credentials // customers)
    paths: list[str] = []
    for i in range(customers):
        slug = f"c{i:04d}"
        admin.add_customer(slug, f"Customer {i}")
        admin.grant("bench", slug)
        paths += _bulk_credentials(vault, admin, slug, per)
        if (i + 1) % max(1, customers // 10) == 0:
            progress(
                f"  {vault.db.dialect}: {i + 1}/{customers} customers, {len(paths)} credentials"
            )
    return paths


def _bulk_credentials(vault: Custodian, admin: ActorSession, slug: str, count: int) -> list[str]:
    """`count` credentials of customer `slug` in one transaction, sealed as the service does."""
    now = utcnow()
    cust_t, sys_t = Customer.__table__, System.__table__  # type: ignore[attr-defined]
    cred_t, sv_t = Credential.__table__, SecretVersion.__table__  # type: ignore[attr-defined]
    with vault.db.transaction() as tx:
        cid, kv = tx.execute(
            select(cust_t.c.id, cust_t.c.current_key_version).where(cust_t.c.slug == slug)
        ).one()
        ck_t = CustomerKey.__table__  # type: ignore[attr-defined]
        public = PublicKey(
            tx.execute(
                select(ck_t.c.public_key).where(ck_t.c.customer_id == cid, ck_t.c.version == kv)
            ).scalar_one()
        )
        systems = dict(
            tx.execute(
                insert(sys_t).returning(sys_t.c.name, sys_t.c.id),
                [
                    {
                        "customer_id": cid,
                        "name": n,
                        "kind": k.value,
                        "host": f"{n}.{slug}.example",
                        "created_at": now,
                    }
                    for n, k in SYSTEMS
                ],
            ).all()
        )
        rows = [
            {
                "customer_id": cid,
                "system_id": systems[SYSTEMS[j % len(SYSTEMS)][0]],
                "name": f"cred{j:04d}",
                "username": "admin",
                "current_version": 1,
                "created_at": now,
                "updated_at": now,
            }
            for j in range(count)
        ]
        created = tx.execute(
            insert(cred_t).returning(cred_t.c.id, cred_t.c.system_id, cred_t.c.name), rows
        ).all()
        tx.execute(
            insert(sv_t),
            [
                {
                    "credential_id": c.id,
                    "version": 1,
                    "key_version": kv,
                    "field_names": "password",
                    "created_by": admin.technician_id,
                    "created_at": now,
                }
                for c in created
            ],
        )
        by_id = {v: k for k, v in systems.items()}
        paths = []
        for c in created:
            payload = SecretPayload({"password": f"pw-{slug}-{c.name}-{c.id}"})
            payloads.write(vault.store, tx, SecretRef(cid, slug, c.id, 1, kv), payload, public)
            paths.append(f"{slug}/{by_id[c.system_id]}/{c.name}")
        # What the service records for a write: the new versions, signed into the log's
        # key directory (service/directory.py), so that reveals verify them.
        _, signer, _ = unpack_private(admin.export())
        changes = [directory.cred_change(cid, c.id, 1) for c in created]
        draft = EventDraft(
            "import", "ok", "admin", admin.technician_id, customer_id=cid, detail={"dir": changes}
        )
        append(tx, draft, now, signer)
    return paths


def measure(
    url: str,
    backend: str,
    customers: int,
    credentials: int,
    samples: int,
    progress: Callable[[str], None],
) -> RevealResult:
    vault = Custodian.open(url, create=True)
    try:
        start = time.perf_counter()
        paths = seed(vault, customers, credentials, progress)
        seeded = time.perf_counter() - start
        tech = vault.unlock("bench", PASS)
        rng = random.Random(20261125)  # a benchmark's sample, not a secret
        by_customer: dict[str, str] = {}
        for p in paths:
            by_customer.setdefault(p.split("/", 1)[0], p)
        first: list[float] = []
        for p in rng.sample(sorted(by_customer.values()), min(200, len(by_customer))):
            t = time.perf_counter()
            tech.reveal(p)
            first.append(time.perf_counter() - t)
        for p in by_customer.values():  # warm every customer key, as a working day would
            tech.reveal(p)
        timings: list[float] = []
        cpu: list[float] = []
        for p in rng.choices(paths, k=samples):
            c, t = time.thread_time(), time.perf_counter()
            tech.reveal(p)
            timings.append(time.perf_counter() - t)
            cpu.append(time.thread_time() - c)
        return RevealResult(
            backend,
            customers,
            len(paths),
            seeded,
            1000 * statistics.median(first),
            _ms(timings, 0.5),
            _ms(timings, 0.99),
            samples,
            _ms(cpu, 0.5),
        )
    finally:
        vault.close()
