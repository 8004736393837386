"""What a member's client trusts: a root pinned in their own locked key bundle, and the
key directory it replays from the access log on top of that root.

    pin (in the bundle, set at enrolment)    vault id + the root event's sequence and hash
    head (in the local state file)           the newest event this client verified
    directory (idem)                         `directory.Directory`, replayed from the root

Before anything the database says is used to seal, wrap, open or authorize, the client
catches up (`Trust.sync`): every event after its head must link to it by hash, every
signed event must verify with its actor's key as the directory has it, unsigned events
may only be failed unlocks and restores, and every key-directory change must be allowed
by the directory at that point (`directory.apply`). A log or head that went back, or an
event rewritten under the head, is an `IntegrityError`. Checks then compare rows with
the directory (`check_*`); the transaction's own changes are staged (`stage`) and written
into its next event.

The local state file is sealed with a key derived from the member's private keys; a file
that fails to open is ignored (the client replays from the root again).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
import time
import uuid
from dataclasses import dataclass
from typing import Any
from datetime import datetime
from pathlib import Path

from sqlalchemy import bindparam, select

from ..audit.append import UNSIGNED_ACTIONS, canonical_values, chain_hash, signed_here
from ..crypto import Context, derive_key, open_with_key, seal_with_key, verify_signature
from ..db.models import AccessEvent, LogHead
from ..db.prepared import Prepared, Tx, datetime_codec
from ..errors import IntegrityError, UsageError
from .directory import Change, Directory, apply, key_id, with_changes

STATE_DIR_ENV = "CUSTODIAN_STATE_DIR"
_PIN = struct.Struct(">16sQ32s")
PERSIST_EVERY = 1.0  # seconds between writes of the local state while only the head moves


@dataclass(frozen=True)
class Pin:
    """The root a member trusts: the vault and the event (init or certify) whose directory
    everything else is replayed from. Kept inside the member's passphrase-locked bundle."""

    vault_id: str
    seq: int
    hash: bytes

    def encode(self) -> bytes:
        return _PIN.pack(uuid.UUID(self.vault_id).bytes, self.seq, self.hash)

    @classmethod
    def decode(cls, raw: bytes) -> Pin:
        if len(raw) != _PIN.size:
            raise IntegrityError("a pinned root is malformed")
        vid, seq, digest = _PIN.unpack(raw)
        return cls(str(uuid.UUID(bytes=vid)), seq, digest)

    def fingerprint(self) -> str:
        """Eight groups of four, to compare out of band (the same for every member)."""
        digest = hashlib.sha256(b"custodian root v1\x00" + self.encode()).digest()
        text = base64.b32encode(digest[:20]).decode()
        return "-".join(text[i : i + 4] for i in range(0, 32, 4))


PIN_SIZE = _PIN.size

_ev = AccessEvent.__table__  # type: ignore[attr-defined]
_hd = LogHead.__table__  # type: ignore[attr-defined]
_EVENTS_FROM = Prepared(
    select(
        _ev.c.seq,
        _ev.c.at,
        _ev.c.actor_id,
        _ev.c.actor,
        _ev.c.action,
        _ev.c.outcome,
        _ev.c.customer_id,
        _ev.c.target,
        _ev.c.credential_id,
        _ev.c.reason,
        _ev.c.detail,
        _ev.c.prev_hash,
        _ev.c.hash,
        _ev.c.signature,
    )
    .where(_ev.c.seq >= bindparam("seq"))
    .order_by(_ev.c.seq)
)
_HEAD = Prepared(select(_hd.c.seq, _hd.c.head).where(_hd.c.id == 1))

Head = tuple[int, bytes, bytes | None]  # seq, hash, signature


class Trust:
    """One member's verified view of one vault (see the module docstring)."""

    def __init__(self, pin: Pin | None, secret: bytes, location: str, member: int) -> None:
        self.pin = pin
        self.member = member
        self.directory = Directory()
        self.head: Head | None = None
        self._staged: list[tuple[Change, int | None, datetime]] = []
        self._recorded = 0  # how many staged changes an event already carries
        self._view: Directory | None = None
        self._state_key = derive_key(secret, "local state v1")
        self._location = location
        self._loaded = False
        self._saved_at = 0.0
        self._saved_seq = -1

    def __repr__(self) -> str:
        return f"Trust(head={self.head[0] if self.head else None})"

    @classmethod
    def founding(cls, root: list[Change], at: datetime) -> Trust:
        """What `init` checks its own first wraps against: the root's directory, before
        the root event exists (never synced, never saved)."""
        trust = cls(None, bytes(32), "", 0)
        for change in root:
            apply(trust.directory, change, None, at, root=True)
        return trust

    # --- catching up with the log -----------------------------------------------------

    def sync(self, tx: Tx) -> None:
        """Verify and apply every event after this client's head (see the module)."""
        self.discard()
        pin = self.require_pin()
        if not self._loaded:
            self._load()
        head_row = _HEAD.one(tx, {})
        if head_row is None:
            raise IntegrityError("the access log has no head row: the vault is damaged")
        start = self.head[0] if self.head else pin.seq
        if int(head_row[0]) < start:
            raise IntegrityError(
                f"the access log went back from event {start} to {head_row[0]}: events"
                " were removed (a restore of an older backup, or a database writer)"
            )
        cursor = _EVENTS_FROM.run(tx, {"seq": start})
        try:
            rows = cursor.fetchall()
        finally:
            cursor.close()
        decode_at = datetime_codec(tx)[1]
        if not rows or rows[0][0] != start:
            raise IntegrityError(f"event {start}, which this client verified, is gone from the log")
        first = rows[0]
        if self.head is None:
            self._take_root(pin, first, decode_at)
        elif bytes(first[12]) != self.head[1]:
            raise IntegrityError(f"event {start}, which this client verified, was rewritten")
        before = self.head
        for row in rows[1:]:
            self._replay(row, decode_at)
        assert self.head is not None
        if (int(head_row[0]), bytes(head_row[1])) != self.head[:2]:
            raise IntegrityError("the log head row does not match the last event")
        if self.head != before:
            self._save()

    def _take_root(self, pin: Pin, row: Any, decode_at: Any) -> None:
        if bytes(row[12]) != pin.hash:
            raise IntegrityError(
                "the vault's root event is not the one pinned in your key: this is not the"
                " vault you enrolled in, or its log was rewritten"
            )
        changes = _changes(row[10])
        self.directory = Directory()
        at: datetime = decode_at(row[1])
        for change in changes:
            apply(self.directory, change, None, at, root=True)
        if self.directory.vault_id != pin.vault_id:
            raise IntegrityError("the vault's root event names another vault")
        self.head = (int(row[0]), bytes(row[12]), _opt(row[13]))

    def _replay(self, row: Any, decode_at: Any) -> None:
        assert self.head is not None
        seq, at_raw, actor_id, actor, action, outcome, cid, target, cred, reason, detail = row[:11]
        prev, digest, signature = bytes(row[11]), bytes(row[12]), _opt(row[13])
        at: datetime = decode_at(at_raw)
        if seq != self.head[0] + 1 or prev != self.head[1]:
            raise IntegrityError(f"event {seq} does not link to event {self.head[0]}")
        canonical = canonical_values(
            seq,
            at,
            actor_id,
            actor,
            action,
            outcome,
            cid,
            target,
            cred,
            reason,
            detail,
        )
        if chain_hash(prev, self.head[2], canonical) != digest:
            raise IntegrityError(f"event {seq} does not match its hash")
        changes = _changes(detail)
        if signature is None:
            if (action, outcome) not in UNSIGNED_ACTIONS or changes:
                raise IntegrityError(f"event {seq} ({action}) is not signed")
        else:
            entry = self.directory.techs.get(actor_id) if isinstance(actor_id, int) else None
            if entry is None:
                raise IntegrityError(f"event {seq} is signed by an account the directory lacks")
            public = bytes.fromhex(entry.sign)
            if not signed_here(public, seq, digest, signature) and not verify_signature(
                public, signature, digest
            ):
                raise IntegrityError(f"event {seq} is not signed by {entry.name!r}")
        for change in changes:
            apply(self.directory, change, actor_id, at, root=False)
        self.head = (seq, digest, signature)

    # --- this transaction's own changes -----------------------------------------------

    def stage(self, change: Change, actor: int, at: datetime) -> None:
        """A change this transaction makes: checks see it now, the next event records it."""
        self._staged.append((change, actor, at))
        if self._view is None or self._view is self.directory:
            self._view = with_changes(self.directory, self._staged)
        else:  # already a copy: apply the one change (refused at once if not allowed)
            apply(self._view, change, actor, at, root=False)

    def take_staged(self) -> list[Change]:
        """The staged changes not yet recorded (they go into the event being written)."""
        changes = [c for c, _, _ in self._staged[self._recorded :]]
        self._recorded = len(self._staged)
        return changes

    def discard(self) -> None:
        """Forget the staged changes (the transaction ended; the log now has them or not)."""
        self._staged.clear()
        self._recorded = 0
        self._view = None

    def view(self) -> Directory:
        """The directory with this transaction's staged changes applied."""
        if self._view is None:
            self._view = with_changes(self.directory, self._staged)
        return self._view

    # --- checks -------------------------------------------------------------------------

    def require_pin(self) -> Pin:
        if self.pin is None:
            raise UsageError(
                "this vault's key directory is not certified yet: an admin runs"
                " `custodian db certify`, then you unlock again"
            )
        return self.pin

    def check_technician_key(self, technician: int, public: bytes) -> str:
        """The role of an active technician whose HPKE key is `public`, as the log says."""
        entry = self.view().techs.get(technician)
        if entry is None or not entry.active or entry.key != key_id(public):
            raise IntegrityError(
                f"technician #{technician}'s key or account differs from the key directory:"
                " refusing to wrap a key to it"
            )
        return entry.role

    def role_of(self, technician: int) -> str | None:
        entry = self.view().techs.get(technician)
        return entry.role if entry is not None and entry.active else None

    def check_customer_key(self, customer: int, version: int, public: bytes) -> None:
        if self.view().ckeys.get((customer, version)) != key_id(public):
            raise IntegrityError(
                f"customer key version {version} (customer #{customer}) is not the one in"
                " the key directory"
            )

    def newest_customer_key(self, customer: int) -> int:
        return self.view().newest_ckey.get(customer, 0)

    def check_org_key(self, version: int, public: bytes) -> None:
        view = self.view()
        if version != view.newest_org() or view.org.get(version) != key_id(public):
            raise IntegrityError(f"organization key version {version} is not the directory's")

    def check_recovery_key(self, public: bytes) -> None:
        if self.view().recovery != key_id(public):
            raise IntegrityError("the recovery key is not the one in the key directory")

    def live_grant(self, technician: int, customer: int, at: datetime) -> bool:
        return self.view().live_grant(technician, customer, at)

    def current_version(self, credential: int) -> int:
        """The credential's newest version as the log says (0: none yet)."""
        held = self.view().creds.get(credential)
        return held[1] if held else 0

    def next_version(self, credential: int) -> int:
        """The number a new version of the credential gets: never one used before."""
        held = self.view().creds.get(credential)
        return held[2] + 1 if held else 1

    def check_kdf(self, params: tuple[int, int, int]) -> None:
        if self.view().kdf != params:
            raise IntegrityError("the vault's key-derivation parameters are not the directory's")

    # --- the local state file -----------------------------------------------------------

    def _path(self) -> Path:
        pin = self.require_pin()
        base = os.environ.get(STATE_DIR_ENV)
        if not base:
            import platformdirs

            base = os.path.join(platformdirs.user_state_dir("custodian"), "trust")
        name = hashlib.sha256(
            f"{pin.vault_id}\0{self._location}\0{self.member}".encode()
        ).hexdigest()[:32]
        return Path(base) / f"{name}.state"

    def _context(self) -> Context:
        return Context.of("local-state", root=self.require_pin().encode().hex())

    def _load(self) -> None:
        self._loaded = True
        try:
            blob = self._path().read_bytes()
            data = json.loads(open_with_key(blob, self._state_key, self._context()))
            head = data["head"]
            self.directory = Directory.from_json(data["dir"])
            self.head = (
                head[0],
                bytes.fromhex(head[1]),
                bytes.fromhex(head[2]) if head[2] else None,
            )
            self._saved_seq = head[0]
        except (OSError, ValueError, KeyError, TypeError, IntegrityError):
            self.directory, self.head = Directory(), None

    def _save(self, *, force: bool = False) -> None:
        assert self.head is not None
        now = time.monotonic()
        if not force and now - self._saved_at < PERSIST_EVERY and self._saved_seq >= 0:
            return
        seq, digest, signature = self.head
        data = {
            "head": [seq, digest.hex(), signature.hex() if signature else None],
            "dir": self.directory.to_json(),
        }
        path = self._path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(seal_with_key(self._state_key, json.dumps(data).encode(), self._context()))
            os.replace(tmp, path)
        except OSError:
            return  # the state is an optimisation and a memory; the pin still holds
        self._saved_at, self._saved_seq = now, seq

    def flush(self) -> None:
        """Write the local state now (a session ends)."""
        if self.head is not None and self.head[0] != self._saved_seq:
            self._save(force=True)


def _opt(value: Any) -> bytes | None:
    return bytes(value) if value is not None else None


def _changes(detail: object) -> list[Change]:
    if not isinstance(detail, str) or '"dir"' not in detail:
        return []
    try:
        changes = json.loads(detail).get("dir")
    except (ValueError, AttributeError):
        raise IntegrityError("an event's detail is malformed") from None
    if changes is None:
        return []
    if not isinstance(changes, list) or not all(isinstance(c, dict) for c in changes):
        raise IntegrityError("an event's key-directory changes are malformed")
    return changes
