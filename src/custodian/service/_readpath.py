"""The reveal's read path: Core statements built once, executed with bound parameters.

A reveal needs the actor's account, the customer, the actor's grant, the credential,
the secret version and the actor's wrap of that version's customer key. One joined,
indexed lookup fetches them all, so the reveal costs one round trip before the access
event is written. It runs as a `Prepared` statement on the driver's cursor: SQLAlchemy's
execution machinery would cost more than the lookup itself (docs/performance.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Integer, and_, bindparam, func, select
from sqlalchemy.orm import Session

from ..db.models import (
    Credential,
    Customer,
    Grant,
    KeyWrap,
    RecipientKind,
    SecretVersion,
    System,
    Technician,
)
from ..db.prepared import Prepared, Tx, datetime_codec

_t = Technician.__table__  # type: ignore[attr-defined]
_c = Customer.__table__  # type: ignore[attr-defined]
_g = Grant.__table__  # type: ignore[attr-defined]
_s = System.__table__  # type: ignore[attr-defined]
_cr = Credential.__table__  # type: ignore[attr-defined]
_sv = SecretVersion.__table__  # type: ignore[attr-defined]
_kw = KeyWrap.__table__  # type: ignore[attr-defined]

# One row per call as long as the technician exists: every other table is outer-joined,
# so a missing customer, grant, credential, version or wrap shows up as NULLs and the
# service can tell the cases apart (and refuse in the same order as elsewhere).
REVEAL_LOOKUP = (
    select(
        _t.c.active,
        _t.c.signing_public_key,
        _c.c.id.label("customer_id"),
        _c.c.slug,
        _c.c.status,
        _c.c.require_reason,
        _c.c.reason_pattern,
        _g.c.id.label("grant_id"),
        _g.c.expires_at,
        _g.c.write_only,
        _cr.c.id.label("credential_id"),
        _sv.c.version,
        _sv.c.key_version,
        _sv.c.field_names,
        _sv.c.kv_version,
        _kw.c.wrapped,
    )
    .select_from(
        _t.outerjoin(_c, _c.c.slug == bindparam("slug"))
        .outerjoin(_g, and_(_g.c.technician_id == _t.c.id, _g.c.customer_id == _c.c.id))
        .outerjoin(_s, and_(_s.c.customer_id == _c.c.id, _s.c.name == bindparam("system")))
        .outerjoin(_cr, and_(_cr.c.system_id == _s.c.id, _cr.c.name == bindparam("name")))
        .outerjoin(
            _sv,
            and_(
                _sv.c.credential_id == _cr.c.id,
                _sv.c.version
                == func.coalesce(bindparam("version", type_=Integer), _cr.c.current_version),
            ),
        )
        .outerjoin(
            _kw,
            and_(
                _kw.c.customer_id == _c.c.id,
                _kw.c.key_version == _sv.c.key_version,
                _kw.c.recipient_kind == bindparam("recipient_kind"),
                _kw.c.recipient_id == _t.c.id,
            ),
        )
    )
    .where(_t.c.id == bindparam("technician"))
)

ACCOUNT = select(_t.c.active, _t.c.signing_public_key).where(_t.c.id == bindparam("technician"))
_REVEAL_LOOKUP = Prepared(REVEAL_LOOKUP)


class RevealRow(NamedTuple):
    """REVEAL_LOOKUP's columns, in order."""

    active: bool
    signing_key: bytes
    customer_id: int | None
    slug: str | None
    status: str | None
    require_reason: bool | None
    reason_pattern: str | None
    grant_id: int | None
    expires_at: datetime | None
    write_only: bool | None
    credential_id: int | None
    version: int | None
    key_version: int | None
    field_names: str | None
    kv_version: int | None
    wrapped: bytes | None


def reveal_lookup(
    tx: Tx,
    technician_id: int,
    slug: str,
    system: str,
    name: str,
    version: int | None,
) -> RevealRow | None:
    """The joined row (see REVEAL_LOOKUP), or None when the technician does not exist."""
    params = {
        "technician": technician_id,
        "slug": slug,
        "system": system,
        "name": name,
        "version": version,
        "recipient_kind": RecipientKind.TECHNICIAN.value,
    }
    found = _REVEAL_LOOKUP.one(tx, params)
    if found is None:
        return None
    row = RevealRow(*found)
    row = row._replace(signing_key=bytes(row.signing_key))
    if row.expires_at is not None:
        row = row._replace(expires_at=datetime_codec(tx)[1](row.expires_at))
    if row.wrapped is not None:
        row = row._replace(wrapped=bytes(row.wrapped))
    return row


def account(tx: Session, technician_id: int) -> tuple[bool, bytes | None]:
    """(active, signing public key) of a technician; (False, None) if there is none."""
    found = tx.execute(ACCOUNT, {"technician": technician_id}).first()
    return (bool(found[0]), bytes(found[1])) if found else (False, None)


METADATA_FIELDS = ("username", "url", "host", "notes")  # `get --field` reads them too
_METADATA = (
    select(_cr.c.username, _cr.c.url, _s.c.host, _cr.c.notes)
    .select_from(_cr.join(_s, _s.c.id == _cr.c.system_id))
    .where(_cr.c.id == bindparam("id"))
)


def metadata_field(tx: Tx, credential: int, field: str) -> str | None:
    """A credential's non-secret field (one of `METADATA_FIELDS`), as the server reads it
    for `get --field username` (`served.py`)."""
    row = tx.execute(_METADATA, {"id": credential}).first()
    if row is None:
        return None
    value: str | None = dict(zip(METADATA_FIELDS, row, strict=True))[field]
    return value
