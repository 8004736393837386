"""A customer report's tallies: per credential and technician, the reveals and denials.

Pure over events (`EventInfo`, oldest first): which events a reader may see is for the
service to decide (service/access_log.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from ..records import CredentialUse, EventInfo, TechnicianTotal

REVEAL_ACTIONS = ("reveal", "copy", "export")  # events that hand out a secret value


@dataclass
class _Count:
    ok: int = 0
    denied: int = 0
    last: datetime | None = None
    reasons: list[str] = field(default_factory=list)  # of a credential's reveals
    paths: set[str] = field(default_factory=set)  # of a technician's reveals


def tally(
    events: Iterable[EventInfo],
) -> tuple[tuple[CredentialUse, ...], tuple[TechnicianTotal, ...]]:
    """Per credential and technician, and per technician: the reveals (`REVEAL_ACTIONS`)
    granted and denied, the last one granted, and the reasons given."""
    uses: dict[tuple[str, str], _Count] = {}
    totals: dict[str, _Count] = {}
    for e in events:
        if e.action not in REVEAL_ACTIONS or e.outcome not in ("ok", "denied"):
            continue
        path = (e.target or "?").split("#", 1)[0]
        use = uses.setdefault((path, e.actor), _Count())
        total = totals.setdefault(e.actor, _Count())
        if e.outcome == "ok":
            use.ok += 1
            total.ok += 1
            use.last = total.last = e.at
            total.paths.add(path)
            if e.reason and e.reason not in use.reasons:
                use.reasons.append(e.reason)
        else:
            use.denied += 1
            total.denied += 1
    return (
        tuple(
            CredentialUse(path, tech, u.ok, u.denied, u.last, tuple(u.reasons))
            for (path, tech), u in sorted(uses.items())
        ),
        tuple(
            TechnicianTotal(tech, t.ok, t.denied, len(t.paths), t.last)
            for tech, t in sorted(totals.items())
        ),
    )
