"""Refused probes are events: a use case that names a customer, system or credential the
actor may not reach (or that does not exist) records the refusal before it is raised.

`actor.refuse` is the one way a refusal is recorded; this is the one way a use case asks
for it, so `cred history`, `cred list`, `cred add`, `cred set`, `system add` and
`log --customer` leave the same trace as `get`: a technician gets the same answer, and the
same event, whether the customer exists or not (`policy.unseen_customer`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..errors import AccessDenied, NotFound

if TYPE_CHECKING:
    from .actor import Actor


@contextmanager
def recorded(actor: Actor, action: str, target: str) -> Iterator[None]:
    """Run the block; a refusal (`AccessDenied`) or a miss (`NotFound`) is recorded as
    `action` on `target` in a transaction of its own, then raised."""
    try:
        yield
    except (AccessDenied, NotFound) as exc:
        actor.refuse(exc, action, target=target)
