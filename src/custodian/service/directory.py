"""The key directory as the access log states it, and the rules for changing it.

A database writer can put any public key on any row. So the directory a client trusts is
not the tables but the log: every event that changes who holds which key or role carries
its changes in `detail["dir"]`, signed with the event. A client replays them (`trust.py`)
into a `Directory`, applying each change only if its signer was allowed to make it at
that point of the log (`apply`):

    vault   the vault's id, recovery key and KDF floor      by an admin
    tech    a technician's name, role, active flag, keys    by an admin
    org     an organization key version                     by an admin
    grant   a technician may open a customer's keys         by an admin
            (write-only, "w": may only add credentials and versions)
    ckey    a customer key version                          by an admin or a live grantee
    ungrant a grant ended                                   by an admin or a live grantee
    cred    a credential's newest version                   by an admin or a live grantee
    back    a credential's current version lowered          by an admin (`doctor --repair`)
    uncred  a credential deleted                            by an admin
    purge   a customer's credentials destroyed              by an admin

Versions only go up: an older customer key, organization key or credential version is
never current again, and a version number is never used twice. Keys are named by the
SHA-256 of their public bytes (`key_id`); signing keys by their raw public bytes.

Beside the changes, the directory keeps the path each credential has (`names`), from the
signed events that add, rename or move a credential or rename a system (`follow_names`):
a reader checks that the credential served for a path is the one the log put there.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ..clock import as_utc
from ..errors import IntegrityError

Change = dict[str, Any]
ADMIN, TECHNICIAN = "admin", "technician"


def key_id(public: bytes) -> str:
    """How the directory names an HPKE public key: its SHA-256, in hex."""
    return hashlib.sha256(public).hexdigest()


@dataclass(frozen=True)
class TechEntry:
    name: str
    role: str
    active: bool
    key: str  # key_id of the HPKE public key
    sign: str  # the Ed25519 public key, hex


@dataclass
class Directory:
    """Who holds which key and role, which versions are current: what the log says."""

    vault_id: str | None = None
    recovery: str | None = None
    kdf: tuple[int, int, int] | None = None
    techs: dict[int, TechEntry] = field(default_factory=dict)
    org: dict[int, str] = field(default_factory=dict)
    ckeys: dict[tuple[int, int], str] = field(default_factory=dict)
    newest_ckey: dict[int, int] = field(default_factory=dict)
    grants: dict[tuple[int, int], datetime | None] = field(default_factory=dict)
    write_grants: dict[tuple[int, int], datetime | None] = field(default_factory=dict)
    # credential id: (customer, current version, highest version ever written)
    creds: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    # credential id: its path (customer/system/name), as the log's events name it
    # (`follow_names`); none for one added before a legacy vault's certification
    names: dict[int, str] = field(default_factory=dict)

    def live_grant(self, technician: int, customer: int, at: datetime) -> bool:
        """A grant to read: the customer's keys may be wrapped to this technician."""
        return _live(self.grants, technician, customer, at)

    def live_writer(self, technician: int, customer: int, at: datetime) -> bool:
        """Any live grant, write-only included: may add credentials and versions."""
        return self.live_grant(technician, customer, at) or _live(
            self.write_grants, technician, customer, at
        )

    def newest_org(self) -> int:
        return max(self.org) if self.org else 0

    # --- the local state file's form --------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "vault_id": self.vault_id,
            "recovery": self.recovery,
            "kdf": list(self.kdf) if self.kdf else None,
            "techs": {
                str(k): [t.name, t.role, t.active, t.key, t.sign] for k, t in self.techs.items()
            },
            "org": {str(k): v for k, v in self.org.items()},
            "ckeys": [[c, v, k] for (c, v), k in self.ckeys.items()],
            "grants": [[t, c, u.isoformat() if u else None] for (t, c), u in self.grants.items()],
            "write_grants": [
                [t, c, u.isoformat() if u else None] for (t, c), u in self.write_grants.items()
            ],
            "creds": {str(k): list(v) for k, v in self.creds.items()},
            "names": {str(k): v for k, v in self.names.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Directory:
        d = cls(vault_id=data["vault_id"], recovery=data["recovery"])
        kdf = data["kdf"]
        d.kdf = tuple(kdf) if isinstance(kdf, list) else None
        d.techs = {int(k): TechEntry(*v) for k, v in data["techs"].items()}
        d.org = {int(k): v for k, v in data["org"].items()}
        for c, v, k in data["ckeys"]:
            d.ckeys[(c, v)] = k
            d.newest_ckey[c] = max(v, d.newest_ckey.get(c, 0))
        d.grants = {(t, c): datetime.fromisoformat(u) if u else None for t, c, u in data["grants"]}
        d.write_grants = {
            (t, c): datetime.fromisoformat(u) if u else None
            for t, c, u in data.get("write_grants", [])
        }
        d.creds = {int(k): (v[0], v[1], v[2]) for k, v in data["creds"].items()}
        d.names = {int(k): str(v) for k, v in data["names"].items()}  # none: replay anew
        return d


# --- changes, as events carry them ----------------------------------------------------


def vault_change(vault_id: str, recovery_public: bytes, kdf: tuple[int, int, int]) -> Change:
    return {"t": "vault", "id": vault_id, "recovery": key_id(recovery_public), "kdf": list(kdf)}


def tech_change(
    technician: int, name: str, role: str, active: bool, public: bytes, signing: bytes
) -> Change:
    return {
        "t": "tech",
        "id": technician,
        "name": name,
        "role": role,
        "active": active,
        "key": key_id(public),
        "sign": signing.hex(),
    }


def status_change(technician: int, entry: TechEntry, role: str, active: bool) -> Change:
    """A technician's new role or active flag; name and keys stay the directory's."""
    return {
        "t": "tech",
        "id": technician,
        "name": entry.name,
        "role": role,
        "active": active,
        "key": entry.key,
        "sign": entry.sign,
    }


def org_change(version: int, public: bytes) -> Change:
    return {"t": "org", "v": version, "key": key_id(public)}


def ckey_change(customer: int, version: int, public: bytes) -> Change:
    return {"t": "ckey", "c": customer, "v": version, "key": key_id(public)}


def grant_change(
    technician: int, customer: int, until: datetime | None, *, write_only: bool = False
) -> Change:
    change: Change = {
        "t": "grant",
        "tech": technician,
        "c": customer,
        "until": as_utc(until).isoformat() if until else None,
    }
    if write_only:
        change["w"] = True
    return change


def ungrant_change(technician: int, customer: int) -> Change:
    return {"t": "ungrant", "tech": technician, "c": customer}


def cred_change(customer: int, credential: int, version: int) -> Change:
    return {"t": "cred", "c": customer, "id": credential, "v": version}


def back_change(customer: int, credential: int, version: int) -> Change:
    return {"t": "back", "c": customer, "id": credential, "v": version}


def uncred_change(customer: int, credential: int) -> Change:
    return {"t": "uncred", "c": customer, "id": credential}


def purge_change(customer: int) -> Change:
    return {"t": "purge", "c": customer}


# --- applying a change ------------------------------------------------------------------

_BY_ADMIN = frozenset({"vault", "tech", "org", "grant", "back", "uncred", "purge"})
_BY_GRANTEE = frozenset({"ckey", "ungrant"})  # a grant to read
_BY_WRITER = frozenset({"cred"})  # any grant, write-only included


def apply(d: Directory, change: Change, actor: int | None, at: datetime, *, root: bool) -> None:
    """Apply one change made by technician `actor` at `at`, or raise `IntegrityError` if
    the directory (as it stands) did not allow them to make it. `root`: the change is part
    of the pinned root event, which needs no authority."""
    kind = change.get("t")
    if not root:
        _authorize(d, kind, change, actor, at)
    try:
        _APPLY[str(kind)](d, change)
    except (KeyError, TypeError, ValueError) as exc:
        raise IntegrityError(
            f"the access log holds a malformed key-directory change ({kind})"
        ) from exc


def _authorize(d: Directory, kind: object, change: Change, actor: int | None, at: datetime) -> None:
    me = d.techs.get(actor) if actor is not None else None
    if me is None or not me.active:
        raise IntegrityError(
            f"the access log holds a key-directory change ({kind}) by an unknown or removed account"
        )
    if me.role == ADMIN:
        return
    customer = int(change.get("c", 0))
    if kind in _BY_GRANTEE and d.live_grant(actor or 0, customer, at):
        return
    if kind in _BY_WRITER and d.live_writer(actor or 0, customer, at):
        return
    raise IntegrityError(
        f"the access log holds a key-directory change ({kind}) that {me.name!r} was not"
        " allowed to make: a database writer forged it"
    )


def _vault(d: Directory, c: Change) -> None:
    d.vault_id, d.recovery = str(c["id"]), str(c["recovery"])
    m, t, p = c["kdf"]
    d.kdf = (int(m), int(t), int(p))


def _tech(d: Directory, c: Change) -> None:
    if c["role"] not in (ADMIN, TECHNICIAN, "auditor"):
        raise ValueError("role")
    d.techs[int(c["id"])] = TechEntry(
        str(c["name"]), str(c["role"]), bool(c["active"]), str(c["key"]), str(c["sign"])
    )


def _org(d: Directory, c: Change) -> None:
    version = int(c["v"])
    if version <= d.newest_org():
        raise IntegrityError(f"the access log reuses organization key version {version}")
    d.org[version] = str(c["key"])


def _ckey(d: Directory, c: Change) -> None:
    customer, version = int(c["c"]), int(c["v"])
    if version <= d.newest_ckey.get(customer, 0):
        raise IntegrityError(f"the access log reuses customer key version {version}")
    d.ckeys[(customer, version)] = str(c["key"])
    d.newest_ckey[customer] = version


def _grant(d: Directory, c: Change) -> None:
    until = c["until"]
    key = (int(c["tech"]), int(c["c"]))
    kept, dropped = (d.write_grants, d.grants) if c.get("w") else (d.grants, d.write_grants)
    kept[key] = datetime.fromisoformat(str(until)) if until else None
    dropped.pop(key, None)


def _ungrant(d: Directory, c: Change) -> None:
    key = (int(c["tech"]), int(c["c"]))
    d.grants.pop(key, None)
    d.write_grants.pop(key, None)


def _cred(d: Directory, c: Change) -> None:
    customer, credential, version = int(c["c"]), int(c["id"]), int(c["v"])
    held = d.creds.get(credential)
    if held is not None and (held[0] != customer or version <= held[2]):
        raise IntegrityError(f"the access log reuses version {version} of credential {credential}")
    d.creds[credential] = (customer, version, version)


def _back(d: Directory, c: Change) -> None:
    customer, credential, version = int(c["c"]), int(c["id"]), int(c["v"])
    held = d.creds.get(credential)
    if held is None or held[0] != customer or not 0 < version <= held[1]:
        raise IntegrityError(f"the access log moves credential {credential} to a version it lacks")
    d.creds[credential] = (customer, version, held[2])


def _uncred(d: Directory, c: Change) -> None:
    held = d.creds.get(int(c["id"]))
    if held is not None and held[0] == int(c["c"]):
        del d.creds[int(c["id"])]


def _purge(d: Directory, c: Change) -> None:
    customer = int(c["c"])
    d.creds = {k: v for k, v in d.creds.items() if v[0] != customer}
    d.grants = {k: v for k, v in d.grants.items() if k[1] != customer}
    d.write_grants = {k: v for k, v in d.write_grants.items() if k[1] != customer}


_APPLY = {
    "vault": _vault,
    "tech": _tech,
    "org": _org,
    "ckey": _ckey,
    "grant": _grant,
    "ungrant": _ungrant,
    "cred": _cred,
    "back": _back,
    "uncred": _uncred,
    "purge": _purge,
}


def _live(
    grants: dict[tuple[int, int], datetime | None], technician: int, customer: int, at: datetime
) -> bool:
    if (technician, customer) not in grants:
        return False
    until = grants[(technician, customer)]
    return until is None or as_utc(until) > as_utc(at)


NAMING_ACTIONS = ("cred-add", "cred-rename", "cred-move")  # their target is the new path


def follow_names(
    d: Directory, action: str, outcome: str, target: object, credential: object, detail: object
) -> None:
    """Keep `d.names` as a verified event says: an added, renamed or moved credential is
    at its event's target; a renamed system's credentials move with it (its `from`)."""
    if outcome != "ok" or not isinstance(target, str):
        return
    if action in NAMING_ACTIONS and isinstance(credential, int):
        d.names[credential] = target
    elif action == "system-rename" and isinstance(detail, str):
        try:
            old = json.loads(detail).get("from")
        except (ValueError, AttributeError):
            raise IntegrityError("an event's detail is malformed") from None
        if isinstance(old, str):
            prefix = old + "/"
            for credential_id, path in list(d.names.items()):
                if path.startswith(prefix):
                    d.names[credential_id] = f"{target}/{path[len(prefix) :]}"


def with_changes(d: Directory, changes: list[tuple[Change, int | None, datetime]]) -> Directory:
    """A copy of `d` with `changes` applied (each by its actor at its time): a
    transaction's view before its event is written. Only the touched maps are copied."""
    if not changes:
        return d
    out = replace(
        d,
        techs=dict(d.techs),
        org=dict(d.org),
        ckeys=dict(d.ckeys),
        newest_ckey=dict(d.newest_ckey),
        grants=dict(d.grants),
        write_grants=dict(d.write_grants),
        creds=dict(d.creds),
    )
    for change, actor, at in changes:
        apply(out, change, actor, at, root=False)
    return out
