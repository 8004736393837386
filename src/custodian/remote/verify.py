"""`log verify` through the server: this client verifies the whole log from the root its
own key pins (`service.Member.verify_log`), then has the server record the verification,
signed here (docs/server.md, "An auditor's verification")."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from .. import Role, wire
from ..errors import Conflict, UsageError
from ..records import LogVerification
from ..service import VERIFY_PROBE, verification_event

if TYPE_CHECKING:
    from .session import RemoteSession

Progress = Callable[[int, int], None]


def verify_log(
    session: RemoteSession,
    *,
    checkpoint_text: str | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    incremental: bool = False,
    every_signature: bool = False,
) -> LogVerification:
    """Every event from the root checked here (each hash, each signature: `workers` and
    `every_signature` change nothing); the result recorded as a `log-verify` event."""
    if checkpoint_text is not None or incremental:
        raise UsageError("--checkpoint and --incremental need the database (--db)")
    session.sync()
    if session.member.role not in (Role.ADMIN, Role.AUDITOR):
        _refused(session)  # recorded and raised, as in database mode
    stated: list[tuple[int, bytes]] = []
    result = session.member.verify_log(_pages(session, stated, progress), lambda: stated[-1])
    for _ in range(20):
        prepared = session.call("POST", "/log/verify", body={"from": session.member.trust.start()})
        try:
            head, at = session.caught_up(prepared)
            if "refused" in prepared:
                session.record_refusal("/log/verify/refused", {}, VERIFY_PROBE, prepared)
                continue
            m = session.member
            through = result.head_seq
            draft = verification_event(m.username, m.technician_id, result.ok, through)
            signature = m.sign_event(draft, head, at)
        except BaseException:
            session.release(prepared.get("lease"))
            raise
        body = {
            "lease": prepared.get("lease"),
            "ok": result.ok,
            "through": through,
            "at": at.isoformat(),
            "head": wire.head_out(head),
            "signature": signature.hex(),
        }
        try:
            session.call("POST", "/log/verified", body=body)
        except Conflict:
            continue
        m.appended()
        return result
    raise Conflict("the access log kept moving on: try again")


def _pages(
    session: RemoteSession, stated: list[tuple[int, bytes]], progress: Progress | None
) -> Iterator[list[Any]]:
    """The log from the pinned root, page after page; `stated` gets each page's head."""
    start = session.member.trust.require_pin().seq
    while True:
        answer = session.call("GET", "/log", params={"from": start})
        events = [wire.event_in(e) for e in wire.list_of(answer.get("events"))]
        head = answer.get("head")
        if not isinstance(head, dict):
            head = {}
        seq = wire.int_of(head.get("seq"), "log head")
        stated.append((seq, wire.bytes_of(head.get("hash"), "log head")))
        yield events
        last = events[-1][0] if events else start
        if progress is not None:
            progress(last, seq)
        if last >= seq:
            return
        start = last


def _refused(session: RemoteSession) -> None:
    prepared = session.call("POST", "/log/verify", body={"from": session.member.trust.start()})
    session.caught_up(prepared)
    if "refused" not in prepared:
        session.release(prepared.get("lease"))
        raise UsageError("the server lets you verify the log: run it again")
    session.record_refusal("/log/verify/refused", {}, VERIFY_PROBE, prepared)
    raise Conflict("the access log kept moving on: try again")
