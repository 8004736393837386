"""Customers: add, edit, list and show (the grants on one are shown to readers)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func
from sqlmodel import Session, col, select

from ..clock import as_utc
from ..db.models import Credential, Customer, Grant, RecipientKind, Role, System, Technician
from ..errors import AlreadyExists
from ..paths import check_slug
from ..records import CustomerDetail, CustomerInfo, GrantInfo
from . import _listing, inputs, keys, views

if TYPE_CHECKING:
    from .actor import Actor


def add_customer(
    actor: Actor,
    slug: str,
    name: str,
    *,
    require_reason: bool = False,
    reason_pattern: str | None = None,
) -> CustomerInfo:
    """Create a customer and its first key, wrapped to the organization key only."""
    actor.require_role("customer-add", Role.ADMIN)
    check_slug(slug)
    name = inputs.check_text(name, "customer name", 200)
    inputs.check_pattern(reason_pattern)
    with actor.transaction() as tx:
        if tx.exec(select(Customer).where(Customer.slug == slug)).first():
            raise AlreadyExists(f"customer {slug!r} already exists")
        customer = Customer(
            slug=slug,
            name=name,
            require_reason=require_reason or reason_pattern is not None,
            reason_pattern=reason_pattern,
            created_at=actor.now,
        )
        tx.add(customer)
        tx.flush()
        assert customer.id is not None
        org_version, org_public = keys.org_public(tx, actor.trust)
        customer.current_key_version = actor.trust.newest_customer_key(customer.id) + 1
        keys.new_customer_key(
            tx,
            actor.trust,
            actor.technician_id,
            customer.id,
            customer.current_key_version,
            actor.now,
            [(RecipientKind.ORG, org_version, org_public)],
        )
        tx.add(customer)
        actor.record(tx, "customer-add", customer_id=customer.id, target=slug)
        return views.customer_info(customer)


def edit_customer(
    actor: Actor,
    slug: str,
    *,
    name: str | None = None,
    require_reason: bool | None = None,
    reason_pattern: str | None = None,
    clear_pattern: bool = False,
) -> CustomerInfo:
    """Change a customer's name or reason policy. A pattern implies a required reason;
    `require_reason=False` drops the pattern too."""
    actor.require_role("customer-edit", Role.ADMIN)
    name = inputs.check_text(name, "customer name", 200) if name is not None else None
    inputs.check_pattern(reason_pattern)
    with actor.transaction() as tx:
        customer = actor.writable_customer(tx, slug)
        changes: dict[str, object] = {}
        if name is not None and name != customer.name:
            customer.name = changes["name"] = name
        pattern = customer.reason_pattern
        if clear_pattern or require_reason is False:
            pattern = None
        if reason_pattern is not None:
            pattern = reason_pattern
        required = customer.require_reason if require_reason is None else require_reason
        required = required or pattern is not None
        if required != customer.require_reason:
            customer.require_reason = changes["require_reason"] = required
        if pattern != customer.reason_pattern:
            customer.reason_pattern = pattern
            changes["reason_pattern"] = pattern
        if changes:
            tx.add(customer)
            actor.record(tx, "customer-edit", customer_id=customer.id, target=slug, detail=changes)
        return views.customer_info(customer)


def list_customers(actor: Actor) -> list[CustomerInfo]:
    with actor.transaction() as tx:
        return _listing.customers(tx, actor.listing_scope, actor.now)


def show_customer(actor: Actor, slug: str) -> CustomerDetail:
    customer = actor.customer_or_refuse(slug, "customer-show", slug)
    with actor.transaction() as tx:
        systems = tx.exec(
            select(System).where(System.customer_id == customer.id).order_by(col(System.name))
        ).all()
        grants = customer_grants(tx, customer) if actor.is_reader else []
        count = tx.exec(select(func.count()).where(Credential.customer_id == customer.id)).one()
        return CustomerDetail(
            views.customer_info(customer, systems=len(systems), credentials=count),
            tuple(views.system_info(customer.slug, s) for s in systems),
            tuple(grants),
        )


def customer_grants(tx: Session, customer: Customer) -> list[GrantInfo]:
    names = dict(tx.exec(select(Technician.id, Technician.username)).all())
    rows = tx.exec(select(Grant).where(Grant.customer_id == customer.id)).all()
    return [
        GrantInfo(
            names[g.technician_id],
            customer.slug,
            names[g.granted_by],
            as_utc(g.granted_at),
            as_utc(g.expires_at) if g.expires_at else None,
        )
        for g in rows
    ]
