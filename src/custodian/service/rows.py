"""Finding and locking the rows a use case works on (no authorization: see `actor.py`)."""

from __future__ import annotations

from sqlmodel import Session, select

from ..db.models import Credential, Customer, Grant, SecretVersion, System
from ..errors import NotFound, UsageError
from ..paths import CredentialPath


def lock(tx: Session, row: Customer | Credential, *, share: bool = False) -> None:
    """Lock `row` until the transaction ends and reload it (PostgreSQL: FOR NO KEY UPDATE,
    or FOR SHARE; SQLite's BEGIN IMMEDIATE already serializes every writer)."""
    model = type(row)
    tx.exec(
        select(model)
        .where(model.id == row.id)
        .with_for_update(read=share, key_share=not share)
        .execution_options(populate_existing=True)
    ).one()


def find_system(tx: Session, customer: Customer, name: str) -> System | None:
    return tx.exec(
        select(System).where(System.customer_id == customer.id).where(System.name == name)
    ).first()


def find_credential(tx: Session, system: System, name: str) -> Credential | None:
    return tx.exec(
        select(Credential).where(Credential.system_id == system.id).where(Credential.name == name)
    ).first()


def credential(tx: Session, customer: Customer, cp: CredentialPath) -> tuple[System, Credential]:
    """The system and credential `cp` names in `customer`, or `NotFound`."""
    system = find_system(tx, customer, cp.system)
    cred = find_credential(tx, system, cp.name) if system else None
    if system is None or cred is None:
        raise NotFound(f"no credential {str(cp)!r}")
    return system, cred


def version(tx: Session, cred: Credential, number: int | None) -> SecretVersion | None:
    """Version `number` of `cred`, or its current version when `number` is None."""
    return tx.exec(
        select(SecretVersion)
        .where(SecretVersion.credential_id == cred.id)
        .where(SecretVersion.version == (number or cred.current_version))
    ).first()


def grant(tx: Session, technician_id: int, customer_id: int) -> Grant | None:
    """The grant row of a technician for a customer, live or lapsed."""
    return tx.exec(
        select(Grant)
        .where(Grant.technician_id == technician_id)
        .where(Grant.customer_id == customer_id)
    ).first()


def check_active(cred: Credential, path: str) -> None:
    """A retired credential (`cred retire`) takes no new version: `cred set`, a write
    through the server, a rotation, an import."""
    if cred.retired_at is not None:
        raise UsageError(f"{path} is retired: un-retire it first with `cred retire {path} --undo`")
