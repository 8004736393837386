"""A member's checks of `cred history`, `cred show` and the everyday changes through the
server (`served_admin`), with no I/O: what decides trust comes from the key directory
this client verified (`Member.trust`), never from the server alone.

- a read: the credential must be its customer's in the directory, its current version
  and its newest version the directory's, every key version one the directory holds;
  who can open it is built here from the directory's technicians and grants;
- a change: the event the server would append must be the change this client asked
  for (its action, the path before and after, which attributes it changes), of a
  credential the directory gives that customer, before this client signs it.

A server that answers otherwise is refused as a lying database is: `IntegrityError`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from ..db.models import Role
from ..errors import IntegrityError
from ..paths import CredentialPath, SystemPath
from ..records import AccessInfo, CredentialDetail, SystemEdit
from .credential_admin import ORG_KEY, Edited
from .directory import Directory, _live
from .member import Member
from .served_admin import EditRequest


def verified_detail(
    member: Member,
    path: str,
    customer: int,
    credential: int,
    detail: CredentialDetail,
    at: datetime,
) -> CredentialDetail:
    """`detail` as the server sent it, checked against the verified directory, with who
    can open it (`openers`) from that directory."""
    cp = CredentialPath.parse(path)
    if detail.credential.path != str(cp):
        raise IntegrityError("the server answered for another credential than asked")
    trust = member.trust
    current = trust.current_version(credential, seen=detail.credential.version)
    held = trust.view().creds.get(credential)
    if held is None or held[0] != customer:
        raise IntegrityError(f"credential #{credential} is not the customer's in the key directory")
    if detail.credential.version != current:
        raise IntegrityError(
            f"{str(cp)!r} is at version {detail.credential.version} on the server but"
            f" {current} in the access log: the database was changed"
        )
    numbers = [v.version for v in detail.versions]
    if (
        not numbers
        or numbers != sorted(set(numbers))
        or numbers[0] < 1
        or numbers[-1] != held[2]
        or current not in numbers
    ):
        raise IntegrityError(
            f"the versions of {str(cp)!r} on the server are not the ones the access log"
            " wrote: the database was changed"
        )
    shown = next(v for v in detail.versions if v.version == current)
    if tuple(shown.fields) != tuple(detail.credential.fields):
        raise IntegrityError(f"the server names other fields for {str(cp)!r} than its version")
    newest = trust.newest_customer_key(customer)
    if any(not 0 < v.key_version <= newest for v in detail.versions):
        raise IntegrityError("the server names a customer key the key directory lacks")
    return replace(detail, access=openers(trust.view(), customer, at))


def openers(d: Directory, customer: int, at: datetime) -> tuple[AccessInfo, ...]:
    """Who can open a customer's credentials as the directory says: active technicians
    with a live grant, then the active admins (`credential_admin._openers`'s order)."""
    granted = [
        AccessInfo(d.techs[tech].name, Role(d.techs[tech].role), "grant", until)
        for grants in (d.grants, d.write_grants)
        for (tech, c), until in grants.items()
        if c == customer
        and tech in d.techs
        and d.techs[tech].active
        and _live(grants, tech, customer, at)
    ]
    admins = [
        AccessInfo(t.name, Role.ADMIN, ORG_KEY, None)
        for t in d.techs.values()
        if t.active and t.role == Role.ADMIN.value
    ]
    return tuple(
        sorted(granted, key=lambda a: a.technician) + sorted(admins, key=lambda a: a.technician)
    )


def check_edit(member: Member, request: EditRequest, edited: Edited) -> None:
    """The event the server would append must be the change asked for (before this
    client signs it: `Member.sign_event`)."""
    asked, target, _ = request.probe()
    assert target is not None
    change = request.change
    if isinstance(change, SystemEdit):
        sp = SystemPath.parse(target)
        after = f"{sp.customer}/{change.name if change.name is not None else sp.system}"
        renamed = after != target
        actions = {"system-rename"} if renamed else {"system-edit"}
        allowed = {"name"} if renamed else set()
        allowed |= {a for a in ("kind", "host", "port", "notes") if getattr(change, a) is not None}
        cred_ok = edited.credential_id is None
    else:
        cp = CredentialPath.parse(target)
        system = change.system if change.system is not None else cp.system
        name = change.name if change.name is not None else cp.name
        after = f"{cp.customer}/{system}/{name}"
        moved, renamed = system != cp.system, name != cp.name
        actions = {"cred-move" if moved else "cred-rename" if renamed else "cred-edit"}
        allowed = {"system"} if moved else set()
        allowed |= {"name"} if renamed else set()
        allowed |= {
            a for a in ("username", "url", "notes", "tags") if getattr(change, a) is not None
        }
        held = member.trust.view().creds.get(edited.credential_id or 0)
        cred_ok = held is not None and held[0] == edited.customer_id
    changed = edited.detail.get("changed")
    if (
        edited.action not in actions
        or edited.target != after
        or edited.detail.get("from") != target
        or not isinstance(changed, list)
        or not changed
        or not set(changed) <= allowed
        or set(edited.detail) != {"from", "changed"}
        or not cred_ok
        or edited.customer_id is None
    ):
        raise IntegrityError(f"the server prepared another change than the one asked ({asked})")
