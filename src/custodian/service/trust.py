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

import atexit
import time
import weakref
from datetime import datetime
from typing import Any

from ..db.prepared import Tx
from ..errors import IntegrityError, UsageError
from . import trust_log
from .directory import Change, Directory, apply, key_id, with_changes
from .pin import Pin
from .trust_state import Head, LocalState

PERSIST_EVERY = 1.0  # seconds between writes of the local state while only the head moves


class Trust:
    """One member's verified view of one vault (see the module docstring)."""

    def __init__(
        self, pin: Pin | None, secret: bytes, location: str, member: int, *, keep: bool = True
    ) -> None:
        """`keep`: remember the newest verified head in the local state file, and trust
        this process's own appends (False: a replay from the root that starts afresh,
        checks every byte and leaves nothing, `log verify` through a server)."""
        self.pin = pin
        self.member = member
        self.directory = Directory()
        self.head: Head | None = None
        self._staged: list[tuple[Change, int | None, datetime]] = []
        self._recorded = 0  # how many staged changes an event already carries
        self._view: Directory | None = None
        self._state = LocalState(pin, secret, location, member) if pin and keep else None
        self._every_byte = not keep
        self._loaded = False
        self._saved_at = 0.0
        self._saved_seq = -1
        self._flush_at_exit = False
        self._tx: Tx | None = None  # the transaction `sync` caught up in
        self._own_first: int | None = None  # the first event it appended

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
        """At the start of a transaction: verify and apply every event after this
        client's head (see the module). A member whose bundle pins no root yet (the vault
        is not certified) verifies nothing here, and every check refuses."""
        self.discard()
        self._tx = tx
        if self.pin is not None:
            self._advance(tx, None)

    def appended(self, seq: int) -> None:
        """This transaction appended event `seq`: catching up stops before it (it is not
        committed, and it may never be)."""
        if self._own_first is None:
            self._own_first = seq

    def refresh(self) -> bool:
        """Catch up again inside the transaction (a check found a row newer than the
        directory: on PostgreSQL another writer may have committed since `sync`). True if
        the directory moved."""
        if self._tx is None or self.pin is None:
            return False
        before = self.head
        limit = self._own_first - 1 if self._own_first is not None else None
        self._advance(self._tx, limit)
        self._view = None
        return self.head != before

    def _advance(self, tx: Tx, limit: int | None) -> None:
        start = self.start()
        found = trust_log.new_events(tx, start, limit)
        if found is None:
            return
        rows, head_row = found
        self.catch_up(rows, head_row if limit is None else None, trust_log.decoder(tx))

    def start(self) -> int:
        """The sequence of the event this client verified last (or of its pinned root):
        the events to read start there, with it."""
        pin = self.require_pin()
        if not self._loaded:
            self._load()
        return self.head[0] if self.head else pin.seq

    def catch_up(self, rows: list[Any], head_row: Any, decode_at: Any) -> None:
        """Verify and apply `rows`, the events from `start()` on (see the module);
        `head_row`, if given, is the log head's (sequence, hash), which the last row must
        be. Called by `sync`, and by a server's client with what the server sent."""
        pin = self.require_pin()
        start = self.start()
        if not rows or rows[0][0] != start:
            raise IntegrityError(f"event {start}, which this client verified, is gone from the log")
        if self.head is None:
            self.directory, self.head = trust_log.root(pin, rows[0], decode_at)
        elif bytes(rows[0][12]) != self.head[1]:
            raise IntegrityError(f"event {start}, which this client verified, was rewritten")
        before, changed = self.head, 0
        for row in rows[1:]:
            self.head, n = trust_log.replay(
                self.directory, self.head, row, decode_at, every_byte=self._every_byte
            )
            changed += n
        if head_row is not None and (int(head_row[0]), bytes(head_row[1])) != self.head[:2]:
            raise IntegrityError("the log head row does not match the last event")
        self._view = None
        if self.head != before:
            self._save(force=changed > 0)

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
        self._tx = None
        self._own_first = None

    def view(self) -> Directory:
        """The directory with this transaction's staged changes applied."""
        if self.pin is None and not self.directory.techs:  # `founding` has no pin
            self.require_pin()
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
        if (entry is None or entry.key != key_id(public)) and self.refresh():
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
        if self.view().ckeys.get((customer, version)) != key_id(public) and self.refresh():
            pass  # checked again below against the newer directory
        if self.view().ckeys.get((customer, version)) != key_id(public):
            raise IntegrityError(
                f"customer key version {version} (customer #{customer}) is not the one in"
                " the key directory"
            )

    def newest_customer_key(self, customer: int, *, seen: int = 0) -> int:
        """The customer's newest key version; `seen`: a version a row names, which a
        newer directory may know (caught up once if it is ahead)."""
        newest = self.view().newest_ckey.get(customer, 0)
        if seen > newest and self.refresh():
            newest = self.view().newest_ckey.get(customer, 0)
        return newest

    def check_org_key(self, version: int, public: bytes) -> None:
        if version > self.view().newest_org():
            self.refresh()
        view = self.view()
        if version != view.newest_org() or view.org.get(version) != key_id(public):
            raise IntegrityError(f"organization key version {version} is not the directory's")

    def check_recovery_key(self, public: bytes) -> None:
        if self.view().recovery != key_id(public):
            raise IntegrityError("the recovery key is not the one in the key directory")

    def live_grant(self, technician: int, customer: int, at: datetime) -> bool:
        """A live grant to read (not write-only): keys may be wrapped to this technician."""
        return self.view().live_grant(technician, customer, at)

    def current_version(self, credential: int, *, seen: int = 0) -> int:
        """The credential's current version as the log says (0: none yet); `seen`: the
        version a row names, which a newer directory may know (caught up once if ahead)."""
        held = self.view().creds.get(credential)
        if seen > (held[1] if held else 0) and self.refresh():
            held = self.view().creds.get(credential)
        return held[1] if held else 0

    def check_path(self, credential: int, path: str) -> None:
        """The credential served for `path` must be the one the log put there (caught up
        once if the log named it otherwise: a rename may have committed since). One added
        before a legacy vault's certification has no name in the log: not checked."""
        named = self.view().names.get(credential)
        if named is not None and named != path and self.refresh():
            named = self.view().names.get(credential)
        if named is not None and named != path:
            raise IntegrityError(
                f"{path!r} was served as credential #{credential}, which the access log"
                f" names {named!r}: the database or the server swapped credentials"
            )

    def next_version(self, credential: int) -> int:
        """The number a new version of the credential gets: never one used before."""
        held = self.view().creds.get(credential)
        return held[2] + 1 if held else 1

    def check_kdf(self, params: tuple[int, int, int]) -> None:
        if self.view().kdf != params:
            raise IntegrityError("the vault's key-derivation parameters are not the directory's")

    # --- the local state file ------------------------------------------------------------

    def _load(self) -> None:
        self._loaded = True
        if self._state is None:
            return
        found = self._state.load()
        if found is not None:
            self.head, self.directory = found
            self._saved_seq = self.head[0]

    def _save(self, *, force: bool = False) -> None:
        """Keep the head in the local state: at once when the directory changed or on
        `force`, otherwise at most once per `PERSIST_EVERY` (and at exit)."""
        if self._state is None or self.head is None or self.head[0] == self._saved_seq:
            return
        now = time.monotonic()
        if force or self._saved_seq < 0 or now - self._saved_at >= PERSIST_EVERY:
            if self._state.save(self.head, self.directory):
                self._saved_at, self._saved_seq = now, self.head[0]
        elif not self._flush_at_exit:
            self._flush_at_exit = True
            atexit.register(_flush, weakref.ref(self))

    def flush(self) -> None:
        """Write the local state now (a session ends)."""
        self._save(force=True)


def _flush(ref: weakref.ref[Trust]) -> None:
    trust = ref()
    if trust is not None:
        trust.flush()
