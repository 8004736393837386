"""Payloads in HashiCorp Vault / OpenBao KV v2; per-customer access enforced by Vault.

Three modules: the connection, its error map, naming and KV calls
(`hashicorp_client.py`), the policies on identity entities (`hashicorp_access.py`), and
this store, which puts both behind the `SecretStore` protocol. hvac stays in these modules
and the transport under it (`hashicorp_http.py`).

Layout (docs/vault-backend.md): credential C of customer S lives at
`<mount>/data/<prefix>/S/C` as plain KV fields (`password`, `otp`, ...), so `bao kv get`
reads what custodian wrote: the store is `plaintext`, it gets and returns the payload's
plain encoding (a JSON object of text fields) and keeps each field as a KV field. Each
custodian version records the KV version that holds it (`put` returns it, the service
writes it to `secret_version.kv_version`); a version written with `bao kv put` is
returned by `sync` for the service to record as the next custodian version. Writes use
check-and-set against the last KV version custodian recorded, so a concurrent writer is
refused instead of overwritten.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, func
from sqlmodel import Session, select

from ..db.models import SecretVersion
from ..db.prepared import Tx
from ..errors import IntegrityError
from ..secret import Secret
from .base import PendingRead, SecretRef, Superseded, Unrecorded
from .hashicorp_access import VaultAccess
from .hashicorp_client import VaultClient, alive, token_from_env

__all__ = ["VaultSecretStore", "token_from_env"]


class VaultSecretStore(VaultClient):
    name = "vault"
    plaintext = True

    def __init__(self, addr: str, token: str | None, **options: Any) -> None:
        super().__init__(addr, token, **options)
        self.access = VaultAccess(self)

    # --- payloads -------------------------------------------------------------------

    def put(self, tx: Session, ref: SecretRef, data: bytes) -> int:
        path = self.path(ref.customer_slug, ref.credential_id)
        known = _last_kv_version(tx, ref.credential_id, before=ref.version)
        plain = _fields(data)
        with self.errors(f"writing {self.mount}/{path}"):
            written = self.write(path, plain, known)
        # If the SQL transaction does not commit, take the KV version back out.
        event.listen(tx, "after_rollback", lambda _s: self.undo_write(path, written), once=True)
        return written

    def read(self, tx: Tx, ref: SecretRef) -> PendingRead:
        kv_version = ref.kv_version
        if not kv_version:
            raise IntegrityError(f"secret version {ref.version} has no payload in Vault")
        path = self.path(ref.customer_slug, ref.credential_id)
        if ref.latest:  # the current version: read the newest, which tells if there is one
            return self._read_newest(path, ref, kv_version)
        return self._read_version(path, ref, kv_version)

    def _read_version(self, path: str, ref: SecretRef, kv_version: int) -> PendingRead:
        answer = self.send_read(path, kv_version)  # on its way to Vault now

        def payload() -> bytes:
            with self.errors(f"reading {self.mount}/{path}"):
                fields = answer()
            if fields is None:
                raise IntegrityError(
                    f"the payload of version {ref.version} is gone from Vault"
                    f" ({self.mount}/{path} v{kv_version}): run `custodian doctor`"
                )
            return _encoded(fields)

        return payload

    def _read_newest(self, path: str, ref: SecretRef, kv_version: int) -> PendingRead:
        """The newest KV version, in the one request a read costs: the recorded one as a
        rule; a newer one (written by `bao kv put` or `patch`) raises `Superseded`, for
        the service to record it and read again; a deleted newest reads the recorded."""
        answer = self.send_versioned_read(path)

        def payload() -> bytes:
            with self.errors(f"reading {self.mount}/{path}"):
                fields, newest = answer()
            if newest > kv_version:
                raise Superseded(newest)
            if fields is None or newest != kv_version:
                return self._read_version(path, ref, kv_version)()
            return _encoded(fields)

        return payload

    def sync(self, tx: Session, ref: SecretRef) -> list[Unrecorded]:
        path = self.path(ref.customer_slug, ref.credential_id)
        known = _last_kv_version(tx, ref.credential_id) or 0
        found: list[Unrecorded] = []
        with self.errors(f"reading {self.mount}/{path}"):
            meta = self.metadata(path)
            if meta is None or int(meta["current_version"]) <= known:
                return []
            for number, info in sorted(meta["versions"].items(), key=lambda kv: int(kv[0])):
                n = int(number)
                if n <= known or not alive(info):
                    continue
                fields = self.send_read(path, n)()
                if fields:
                    found.append(Unrecorded(n, _encoded(fields), _time(info)))
        return found

    def destroy_customer(self, tx: Session, customer_id: int, customer_slug: str) -> int:
        folder = f"{self.prefix}/{customer_slug}"
        destroyed = 0
        with self.errors(f"destroying {self.mount}/{folder}"):
            for key in self.keys(folder):
                if key.endswith("/"):
                    continue
                path = f"{folder}/{key}"
                meta = self.metadata(path)
                if meta is not None:
                    destroyed += sum(1 for v in meta["versions"].values() if not v["destroyed"])
                    self.delete(path)
            self.access.detach_everywhere(customer_slug)
        return destroyed

    def destroy_credential(
        self, tx: Session, customer_id: int, customer_slug: str, credential_id: int
    ) -> int:
        """Counted now, deleted (every version and the metadata) once `tx` commits: a
        rollback keeps them; a failure then leaves an orphan `custodian doctor` reports."""
        path = self.path(customer_slug, credential_id)
        with self.errors(f"reading {self.mount}/{path}"):
            meta = self.metadata(path)
        if meta is None:
            return 0
        event.listen(tx, "after_commit", lambda _s: self.quietly(self.delete, path), once=True)
        return sum(1 for v in meta["versions"].values() if not v["destroyed"])

    # --- for doctor and migrate -------------------------------------------------------

    def read_fields(self, customer_slug: str, credential_id: int, kv_version: int) -> bytes | None:
        """One KV version's plain encoding, or None if it is gone."""
        path = self.path(customer_slug, credential_id)
        with self.errors(f"reading {self.mount}/{path}"):
            fields = self.send_read(path, kv_version)()
        return None if fields is None else _encoded(fields)

    def stored_paths(self) -> dict[str, list[int]]:
        """Every credential id stored under the prefix, by customer slug."""
        out: dict[str, list[int]] = {}
        with self.errors(f"listing {self.mount}/{self.prefix}"):
            for folder in self.keys(self.prefix):
                if folder.endswith("/"):
                    slug = folder.rstrip("/")
                    out[slug] = sorted(
                        int(k) for k in self.keys(f"{self.prefix}/{slug}") if k.isdigit()
                    )
        return out

    def versions(self, customer_slug: str, credential_id: int) -> dict[int, bool]:
        """KV version -> alive (not deleted or destroyed)."""
        path = self.path(customer_slug, credential_id)
        with self.errors(f"reading {self.mount}/{path}"):
            meta = self.metadata(path)
        if meta is None:
            return {}
        return {int(n): alive(v) for n, v in meta["versions"].items()}

    def delete_path(self, customer_slug: str, credential_id: int) -> None:
        path = self.path(customer_slug, credential_id)
        with self.errors(f"deleting {self.mount}/{path}"):
            self.delete(path)

    # --- access: policies on identity entities (hashicorp_access.py) ------------------

    def on_grant(
        self, tx: Session, technician: str, customer_slug: str, until: datetime | None = None
    ) -> None:
        with self.errors(f"granting {technician} Vault access to {customer_slug}"):
            before = self.access.attach(technician, customer_slug, until)
        if before is not None:
            event.listen(
                tx,
                "after_rollback",
                lambda _s: self.access.restore_policies(technician, before),
                once=True,
            )

    def on_revoke(self, tx: Session, technician: str, customer_slug: str) -> None:
        with self.errors(f"revoking {technician}'s Vault access to {customer_slug}"):
            self.access.detach(technician, customer_slug)
            self.access.revoke_tokens(technician)

    def on_offboard(self, tx: Session, customer_slug: str) -> None:
        with self.errors(f"detaching Vault access to {customer_slug}"):
            self.access.detach_everywhere(customer_slug)

    def revoke_tokens(self, technician: str) -> None:
        """Revoke every token `technician` got from a userpass login or their token role."""
        with self.errors(f"revoking {technician}'s Vault tokens"):
            self.access.revoke_tokens(technician)

    def attached(self) -> dict[str, set[str]]:
        """Technician -> customer slugs whose policy is attached to their entity (doctor)."""
        with self.errors("listing Vault identities"):
            return self.access.attached()

    def set_access(
        self, technician: str, customer_slug: str, attach: bool, until: datetime | None = None
    ) -> None:
        """Attach (until `until`) or detach one customer's access (doctor's repair)."""
        with self.errors(f"repairing {technician}'s Vault access to {customer_slug}"):
            if attach:
                self.access.attach(technician, customer_slug, until)
            else:
                self.access.detach(technician, customer_slug)

    def technician_token(self, technician: str, ttl: str = "8h") -> Secret:
        """A token for `technician`, bound to their entity through their token role."""
        with self.errors(f"creating a Vault token for {technician}"):
            return self.access.technician_token(technician, ttl)


# --- helpers ----------------------------------------------------------------------------


def _last_kv_version(tx: Session, credential_id: int, before: int | None = None) -> int | None:
    """The newest KV version custodian recorded for the credential (the column where the
    service keeps what `put` returned): the base of check-and-set, and of `sync`."""
    query = select(func.max(SecretVersion.kv_version)).where(
        SecretVersion.credential_id == credential_id
    )
    if before is not None:
        query = query.where(SecretVersion.version < before)
    value = tx.exec(query).first()
    return int(value) if value else None


def _fields(data: bytes) -> dict[str, str]:
    """A payload's plain encoding as KV fields."""
    plain = json.loads(data.decode())
    if not isinstance(plain, dict) or not all(isinstance(v, str) for v in plain.values()):
        raise IntegrityError("a payload for Vault is not a set of text fields")
    return plain


def _encoded(fields: dict[str, Any]) -> bytes:
    """KV fields as a payload's plain encoding (as `SecretPayload.to_bytes`)."""
    if not fields or not all(isinstance(v, str) for v in fields.values()):
        raise IntegrityError("a payload in Vault is not a set of text fields")
    return json.dumps(
        dict(sorted(fields.items())), separators=(",", ":"), ensure_ascii=False
    ).encode()


def _time(info: dict[str, Any]) -> datetime:
    raw = str(info.get("created_time") or "")
    try:
        # Vault prints nanoseconds; Python parses microseconds.
        head, _, frac = raw.rstrip("Z").partition(".")
        return datetime.fromisoformat(f"{head}.{(frac + '000000')[:6]}").replace(tzinfo=UTC)
    except ValueError:
        return datetime.now(UTC)
