"""Keeping SQL and the payload store consistent: `doctor` finds the drift between them
and, asked to, repairs it (an admin operation, recorded as a `doctor` event). Moving
every payload from one store to the other is `store_migration.py`, which shares the
helpers here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from ..clock import as_utc
from ..db.models import (
    Credential,
    Customer,
    CustomerStatus,
    Grant,
    Role,
    SecretVersion,
    System,
    Technician,
)
from ..storage.hashicorp import VaultSecretStore
from . import credentials, directory

if TYPE_CHECKING:
    from .actor import Actor


@dataclass(frozen=True)
class Drift:
    """One inconsistency between SQL and the store, and whether it was repaired."""

    kind: str  # missing-payload | orphan-payload | unrecorded-version | access
    target: str
    detail: str
    repaired: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "target": self.target,
            "detail": self.detail,
            "repaired": self.repaired,
        }


def live_credentials(tx: Session) -> list[tuple[Customer, Credential]]:
    rows = tx.exec(
        select(Customer, Credential)
        .join(Credential, col(Credential.customer_id) == col(Customer.id))
        .where(col(Customer.status).in_([CustomerStatus.ACTIVE, CustomerStatus.OFFBOARDED]))
        .order_by(col(Credential.id))
    ).all()
    return list(rows)


def versions_of(tx: Session, credential_id: int) -> list[SecretVersion]:
    return list(
        tx.exec(
            select(SecretVersion)
            .where(SecretVersion.credential_id == credential_id)
            .order_by(col(SecretVersion.version))
        ).all()
    )


def label(tx: Session, customer: Customer, cred: Credential, version: int | None) -> str:
    system = tx.get(System, cred.system_id)
    base = f"{customer.slug}/{system.name if system else '?'}/{cred.name}"
    return base if version is None else f"{base} v{version}"


# --- doctor -------------------------------------------------------------------------------


def doctor(actor: Actor, *, repair: bool = False) -> list[Drift]:
    """Every drift between SQL and the payload store; with `repair`, fix what can be."""
    actor.require_role("doctor", Role.ADMIN)
    store = actor.vault.store
    found: list[Drift] = []
    if isinstance(store, VaultSecretStore):
        found += _doctor_vault(actor, store, repair)
    else:
        found += _doctor_sql(actor)
    with actor.transaction() as tx:
        actor.record(
            tx,
            "doctor",
            detail={
                "repair": repair,
                "found": len(found),
                "repaired": sum(d.repaired for d in found),
                "store": store.name,
            },
        )
    return found


def _doctor_sql(actor: Actor) -> list[Drift]:
    out = []
    with actor.transaction() as tx:
        for customer, cred in live_credentials(tx):
            for sv in versions_of(tx, cred.id or 0):
                if sv.ciphertext is None:
                    out.append(
                        Drift(
                            "missing-payload",
                            label(tx, customer, cred, sv.version),
                            "no sealed payload in SQL"
                            + (" (it is in Vault: migrate --to sql)" if sv.kv_version else ""),
                        )
                    )
    return out


def _doctor_vault(actor: Actor, store: VaultSecretStore, repair: bool) -> list[Drift]:
    out: list[Drift] = []
    with actor.transaction() as tx:
        creds = [(c.slug, cr.id or 0) for c, cr in live_credentials(tx)]
    known: dict[str, set[int]] = {}
    for slug, cred_id in creds:
        known.setdefault(slug, set()).add(cred_id)
    # Payloads without a credential.
    for slug, ids in store.stored_paths().items():
        for cred_id in ids:
            if cred_id in known.get(slug, set()):
                continue
            if repair:
                store.delete_path(slug, cred_id)
            out.append(
                Drift(
                    "orphan-payload",
                    f"{store.mount}/{store.path(slug, cred_id)}",
                    "stored in Vault for no credential; deleted"
                    if repair
                    else "stored in Vault for no credential",
                    repair,
                )
            )
    # Credentials whose versions are missing from Vault, or Vault versions not recorded.
    for slug, cred_id in creds:
        alive = store.versions(slug, cred_id)
        with actor.transaction() as tx:
            customer = tx.exec(select(Customer).where(Customer.slug == slug)).one()
            cred = tx.get(Credential, cred_id)
            assert cred is not None
            rows = versions_of(tx, cred_id)
            dead = [sv for sv in rows if not sv.kv_version or not alive.get(sv.kv_version)]
            for sv in dead:
                out.append(_missing(tx, customer, cred, sv, rows, dead, repair))
            if repair and dead and len(dead) < len(rows):
                for sv in dead:
                    tx.delete(sv)
                cred.current_version = max(sv.version for sv in rows if sv not in dead)
                tx.add(cred)
                actor.stage(directory.back_change(customer.id or 0, cred_id, cred.current_version))
                actor.record(
                    tx,
                    "cred-repair",
                    customer_id=customer.id,
                    credential_id=cred_id,
                    target=label(tx, customer, cred, None),
                    detail={"version": cred.current_version, "dropped": len(dead)},
                )
            recorded = max((sv.kv_version or 0 for sv in rows), default=0)
            newer = [n for n, ok in alive.items() if ok and n > recorded]
            if newer:
                target = label(tx, customer, cred, None)
                if repair:
                    credentials.sync_from_store(actor, tx, customer, cred, target)
                out.append(
                    Drift(
                        "unrecorded-version",
                        target,
                        f"KV versions {newer} are not in custodian's history"
                        + ("; recorded as new versions" if repair else ""),
                        repair,
                    )
                )
    out += reconcile_access(actor, store, repair)
    return out


def _missing(
    tx: Session,
    customer: Customer,
    cred: Credential,
    sv: SecretVersion,
    rows: list[SecretVersion],
    dead: list[SecretVersion],
    repair: bool,
) -> Drift:
    target = label(tx, customer, cred, sv.version)
    if len(dead) == len(rows):
        return Drift(
            "missing-payload",
            target,
            "no version of this credential is left in Vault: set a new value"
            " with `custodian cred set`",
        )
    return Drift(
        "missing-payload",
        target,
        "gone from Vault; version dropped from the history"
        if repair
        else "gone from Vault (deleted or destroyed there)",
        repair,
    )


def reconcile_access(actor: Actor, store: VaultSecretStore, repair: bool) -> list[Drift]:
    """Vault policy attachments must equal custodian's live grants."""
    out = []
    with actor.transaction() as tx:
        rows = tx.exec(
            select(Technician.username, Customer.slug, Grant.expires_at)
            .join(Grant, col(Grant.technician_id) == col(Technician.id))
            .join(Customer, col(Customer.id) == col(Grant.customer_id))
            .where(col(Technician.active))
            .where(Customer.status == CustomerStatus.ACTIVE)
        ).all()
    now = actor.now
    wanted = {(u, s): until for u, s, until in rows if until is None or as_utc(until) > now}
    attached = {(u, s) for u, slugs in store.attached().items() for s in slugs}
    for tech, slug in sorted(wanted.keys() - attached):
        if repair:
            store.set_access(tech, slug, attach=True, until=wanted[tech, slug])
        out.append(
            Drift(
                "access",
                f"{tech}@{slug}",
                "granted in custodian, not in Vault" + ("; policy attached" if repair else ""),
                repair,
            )
        )
    for tech, slug in sorted(attached - wanted.keys()):
        if repair:
            store.set_access(tech, slug, attach=False)
            store.revoke_tokens(tech)
        out.append(
            Drift(
                "access",
                f"{tech}@{slug}",
                "Vault grants access custodian does not (revoked or expired)"
                + ("; policy detached, tokens revoked" if repair else ""),
                repair,
            )
        )
    return out
