"""Rows turned into the frozen records (`custodian.records`) the service returns."""

from __future__ import annotations

from ..clock import as_utc
from ..db.models import Credential, Customer, System, Technician
from ..records import CredentialInfo, CustomerInfo, SystemInfo, TechnicianInfo


def technician_info(t: Technician) -> TechnicianInfo:
    return TechnicianInfo(t.username, t.role, t.active, as_utc(t.created_at))


def customer_info(c: Customer, *, systems: int = 0, credentials: int = 0) -> CustomerInfo:
    return CustomerInfo(
        c.slug,
        c.name,
        c.status,
        c.require_reason,
        c.reason_pattern,
        c.current_key_version,
        as_utc(c.created_at),
        systems,
        credentials,
    )


def system_info(slug: str, s: System) -> SystemInfo:
    return SystemInfo(slug, s.name, s.kind, s.host, s.notes)


def credential_info(
    customer: Customer, s: System, c: Credential, fields: tuple[str, ...]
) -> CredentialInfo:
    return CredentialInfo(
        f"{customer.slug}/{s.name}/{c.name}",
        customer.slug,
        s.name,
        s.kind,
        s.host,
        c.name,
        c.username,
        c.url,
        c.current_version,
        fields,
        as_utc(c.updated_at),
        as_utc(c.retired_at) if c.retired_at else None,
    )
