"""`log verify` through the server: the auditor's client verifies the whole log itself,
from the root its own key pins (`member.Member.verify_log`), and the server records the
verification, signed by the client, as database mode does (`access_log.verify_log`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..audit.append import EventDraft, SigningHead, append_presigned, signing_head
from ..errors import AccessDenied, CustodianError, UsageError
from . import policy
from .served import MAX_EVENTS, Login, Probe, Refusal

if TYPE_CHECKING:
    from .served import Account, Served

VERIFY_PROBE: Probe = ("log-verify", None, None)


@dataclass(frozen=True)
class PreparedAttest:
    """Where the verification's event goes; refused, the refusal to sign instead."""

    events: list[Any]
    head: SigningHead
    at: datetime
    refusal: Refusal | None = None


def verification_event(username: str, member: int, ok: bool, through: int) -> EventDraft:
    """The event of a verification (what `access_log.verify_log` records)."""
    return EventDraft(
        "log-verify",
        "ok" if ok else "integrity",
        username,
        member,
        detail={"checkpoints": 0, "through": through},
    )


def prepare_verification(served: Served, login: Login, start: int) -> PreparedAttest:
    with served.vault.db.transaction() as tx:
        member = served.logged_in(tx, login)
        refusal = None
        try:
            _reader(member)
        except AccessDenied as exc:
            refusal = Refusal(exc, {})
        head = signing_head(tx)
        if head.seq - start >= MAX_EVENTS:
            raise UsageError("the client is too far behind the log: sync it first")
        events, _ = served.events_in(tx, start, head.seq)
        return PreparedAttest(events, head, served.vault.clock(), refusal)


def record_verification(
    served: Served,
    login: Login,
    *,
    ok: bool,
    through: int,
    at: datetime,
    head: SigningHead,
    signature: bytes,
) -> None:
    """Append the verification the client signed (a reader's; `through` at most the
    head it signs after)."""
    served.check_time(at)
    if not 0 < through <= head.seq:
        raise UsageError("a verification goes through an event the log holds")
    with served.vault.db.transaction() as tx:
        member = served.logged_in(tx, login)
        _reader(member)
        draft = verification_event(member.username, member.id, ok, through)
        append_presigned(tx, draft, at, head, member.signing_key, signature)


def record_verification_refusal(
    served: Served, login: Login, at: datetime, head: SigningHead, signature: bytes
) -> CustodianError:
    return served.record_refused(
        login,
        lambda _tx, member, _f: _reader(member),
        VERIFY_PROBE,
        "the verification",
        at,
        head,
        signature,
    )


def _reader(member: Account) -> None:
    if member.role not in policy.READERS:
        raise AccessDenied(
            f"log-verify needs the role {' or '.join(r.value for r in policy.READERS)}"
        )
