"""Payloads in HashiCorp Vault / OpenBao KV v2; per-customer access enforced by Vault.

Every use of hvac is in this module (and its transport, `vault_http.py`), and its
exceptions and the transport's are translated here:

    unreachable, sealed, 5xx        -> BackendUnavailable
    403, token still valid          -> AccessDenied
    403, token expired or revoked   -> AuthenticationFailed
    mount missing or not KV v2      -> BackendUnavailable (names the mount)
    check-and-set mismatch          -> Conflict
    version deleted or destroyed    -> IntegrityError

Layout (docs/vault-backend.md): credential C of customer S lives at
`<mount>/data/<prefix>/S/C` as plain KV fields (`password`, `otp`, ...), so `bao kv get`
reads what custodian wrote. Each custodian version records the KV version that holds it
(`secret_version.kv_version`); a version written with `bao kv put` is picked up by
`sync` as the next custodian version. Writes use check-and-set against the last KV version
custodian knows, so a concurrent writer is refused instead of overwritten.

Access: policy `<prefix>-customer-S` (read and write on S's paths) is attached to the
identity entity `<prefix>-tech-T` of every technician T granted S. Entity policies apply
to all of T's tokens at once, whether from userpass login or from the token role
`<prefix>-tech-T`; revoking detaches the policy and revokes T's login and role tokens.
A grant with an end gets its own policy `<prefix>-customer-S.T` instead, written with
OpenBao's policy `expiration`, so Vault itself ends it at that time.

The token is read from `VAULT_TOKEN` (or `BAO_TOKEN`, or `~/.vault-token`) and kept only
inside the hvac client: it is in no repr, message or log line.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy import bindparam, event, func, update
from sqlmodel import Session, col, select

from ..clock import as_utc
from ..crypto import KeyPair, PublicKey
from ..db.models import Credential, Customer, SecretVersion
from ..db.prepared import Tx
from ..errors import (
    AccessDenied,
    AuthenticationFailed,
    BackendUnavailable,
    Conflict,
    CustodianError,
    IntegrityError,
    UsageError,
)
from ..secret import Secret, SecretPayload
from .base import SecretRef

if TYPE_CHECKING:
    import hvac

    from .vault_http import VaultTransport

TIMEOUT_SECONDS = 10.0
_sv = SecretVersion.__table__  # type: ignore[attr-defined]
_KV_VERSION = select(_sv.c.kv_version).where(
    _sv.c.credential_id == bindparam("credential"), _sv.c.version == bindparam("version")
)


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def token_from_env() -> str | None:
    """The token Vault's CLI would use: `VAULT_TOKEN`, `BAO_TOKEN`, then `~/.vault-token`."""
    token = _env("VAULT_TOKEN", "BAO_TOKEN")
    if token:
        return token.strip()
    for name in (".vault-token", ".bao-token"):
        path = Path.home() / name
        if path.is_file():
            return path.read_text().strip() or None
    return None


class VaultSecretStore:
    name = "vault"

    def __init__(
        self,
        addr: str,
        token: str | None,
        *,
        mount: str = "secret",
        prefix: str = "custodian",
        auth_mount: str = "userpass",
        namespace: str | None = None,
        cacert: str | None = None,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        if not addr.startswith(("http://", "https://")):
            raise UsageError(f"invalid Vault address {addr[:80]!r}: use http(s)://host:port")
        self.addr = addr.rstrip("/")
        self.mount = mount
        self.prefix = prefix.strip("/")
        self.auth_mount = auth_mount
        self.namespace = namespace
        self._token = token
        self._cacert = cacert
        self._timeout = timeout
        self._hvac: hvac.Client | None = None
        self._accessors: dict[str, str] | None = None

    @classmethod
    def from_env(
        cls,
        addr: str | None = None,
        *,
        mount: str = "secret",
        prefix: str = "custodian",
        auth_mount: str = "userpass",
    ) -> VaultSecretStore:
        """As Vault's CLI: `VAULT_ADDR` over the configured address, `VAULT_TOKEN`,
        `VAULT_CACERT`, `VAULT_NAMESPACE` (and their `BAO_` twins)."""
        address = _env("VAULT_ADDR", "BAO_ADDR") or addr
        if not address:
            raise UsageError("no Vault address: set VAULT_ADDR or pass --vault-addr")
        return cls(
            address,
            token_from_env(),
            mount=mount,
            prefix=prefix,
            auth_mount=auth_mount,
            namespace=_env("VAULT_NAMESPACE", "BAO_NAMESPACE"),
            cacert=_env("VAULT_CACERT", "BAO_CACERT"),
        )

    def __repr__(self) -> str:
        return f"VaultSecretStore({self.addr!r}, mount={self.mount!r}, prefix={self.prefix!r})"

    # --- naming ---------------------------------------------------------------------

    def path(self, customer_slug: str, credential_id: int) -> str:
        """The KV path (under the mount) of one credential."""
        return f"{self.prefix}/{customer_slug}/{credential_id}"

    def policy_name(self, customer_slug: str) -> str:
        return f"{self.prefix.replace('/', '-')}-customer-{customer_slug}"

    def grant_policy_name(self, customer_slug: str, technician: str) -> str:
        """The policy of one time-limited grant: Vault deletes it at the grant's expiry."""
        return f"{self.policy_name(customer_slug)}.{technician}"

    def entity_name(self, technician: str) -> str:
        return f"{self.prefix.replace('/', '-')}-tech-{technician}"

    def policy_text(self, customer_slug: str) -> str:
        base = f"{self.mount}/%s/{self.prefix}/{customer_slug}"
        return (
            f"# Written by custodian: access to customer {customer_slug}. Do not edit.\n"
            f'path "{base % "data"}/*" {{ capabilities = ["create", "read", "update"] }}\n'
            f'path "{base % "metadata"}/*" {{ capabilities = ["read", "list"] }}\n'
            f'path "{base % "metadata"}" {{ capabilities = ["list"] }}\n'
        )

    def admin_policy_text(self) -> str:
        """The least a token needs for every admin operation of custodian on this store
        (docs/vault-backend.md): payloads, policies, identities, token revocation."""
        data, meta = f"{self.mount}/data/{self.prefix}", f"{self.mount}/metadata/{self.prefix}"
        pol, ent = self.policy_name("*"), self.entity_name("*")
        rules = [
            (f"{data}/*", "create read update"),
            (f"{meta}/*", "read list delete"),
            (meta, "list"),
            (f"{self.mount}/destroy/{self.prefix}/*", "update"),
            (f"sys/policy/{pol}", "create read update delete"),
            (f"sys/policies/acl/{pol}", "create read update delete"),
            ("sys/auth", "read"),
            ("identity/entity/name", "list"),
            (f"identity/entity/name/{ent}", "create read update"),
            ("identity/entity-alias", "create update"),
            (f"auth/token/roles/{ent}", "create read update"),
            (f"auth/token/create/{ent}", "create update"),
            (f"sys/leases/revoke-prefix/auth/{self.auth_mount}/login/*", "update sudo"),
            (f"sys/leases/revoke-prefix/auth/token/create/{ent}", "update sudo"),
        ]
        lines = [f"# custodian admin: mount {self.mount}, prefix {self.prefix}"]
        for path, caps in rules:
            quoted = ", ".join(f'"{c}"' for c in caps.split())
            lines.append(f'path "{path}" {{ capabilities = [{quoted}] }}')
        return "\n".join(lines) + "\n"

    # --- hvac and its errors ----------------------------------------------------------

    @property
    def _client(self) -> hvac.Client:
        if self._hvac is None:
            if not self._token:
                raise AuthenticationFailed(
                    "no Vault token: set VAULT_TOKEN or log in with `bao login`"
                )
            import hvac

            from .vault_http import VaultTransport

            self._hvac = hvac.Client(
                url=self.addr,
                token=self._token,
                verify=self._cacert or True,
                namespace=self.namespace,
                timeout=self._timeout,
                adapter=VaultTransport,
            )
        return self._hvac

    @property
    def _transport(self) -> VaultTransport:
        return self._client.adapter  # type: ignore[no-any-return]

    @property
    def _kv(self) -> Any:
        return self._client.secrets.kv.v2

    @contextmanager
    def _vault(self, what: str) -> Iterator[None]:
        """Translate whatever hvac or the transport raise while doing `what` (one line each)."""
        import hvac.exceptions as hx

        from .vault_http import TRANSPORT_ERRORS

        try:
            yield
        except CustodianError:
            raise
        except TRANSPORT_ERRORS as exc:
            reason = getattr(exc, "reason", None)  # urllib3 wraps the cause
            cause = reason if isinstance(reason, Exception) else exc
            raise BackendUnavailable(
                f"cannot reach Vault at {self.addr} ({type(cause).__name__}) while {what}"
            ) from None
        except hx.VaultDown as exc:
            state = "sealed" if "sealed" in str(exc).lower() else "unavailable (503)"
            raise BackendUnavailable(f"Vault at {self.addr} is {state}") from None
        except hx.Forbidden:
            if not self._token_valid():
                raise AuthenticationFailed(
                    "the Vault token is expired or revoked: log in to Vault again"
                ) from None
            raise AccessDenied(f"Vault denied access while {what}") from None
        except hx.InvalidRequest as exc:
            if "check-and-set" in str(exc):
                raise Conflict(f"another writer changed the secret in Vault while {what}") from None
            raise BackendUnavailable(
                f"Vault refused the request while {what}: {_first(exc)}"
            ) from None
        except hx.InvalidPath as exc:
            self._check_mount()
            raise BackendUnavailable(
                f"Vault has no such path while {what}: {_first(exc)}"
            ) from None
        except hx.VaultError as exc:
            raise BackendUnavailable(
                f"Vault error ({type(exc).__name__}) while {what}: {_first(exc)}"
            ) from None

    def _token_valid(self) -> bool:
        import hvac.exceptions as hx

        from .vault_http import TRANSPORT_ERRORS

        try:
            self._client.auth.token.lookup_self()
        except hx.Forbidden:
            return False
        except (hx.VaultError, *TRANSPORT_ERRORS):
            return True  # cannot tell; the caller reports the original refusal
        return True

    def _check_mount(self) -> None:
        """Raise a clear error when the configured mount is absent or not KV version 2."""
        import hvac.exceptions as hx

        from .vault_http import TRANSPORT_ERRORS

        try:
            info = self._client.read(f"sys/internal/ui/mounts/{self.mount}")
        except (hx.InvalidPath, hx.Forbidden, hx.InvalidRequest):
            info = None
        except (hx.VaultError, *TRANSPORT_ERRORS):
            return  # cannot tell; the caller reports the original error
        data = (info or {}).get("data") or {}
        if data.get("type") != "kv" or str((data.get("options") or {}).get("version")) != "2":
            raise BackendUnavailable(
                f"Vault at {self.addr} has no KV version 2 engine mounted at {self.mount!r}"
            )

    def check(self) -> None:
        """Reach Vault, with a valid token, and a KV v2 engine at the mount (for `init`)."""
        with self._vault("checking the server"):
            status = self._client.sys.read_health_status(method="GET")
            if isinstance(status, dict) and status.get("sealed"):
                raise BackendUnavailable(f"Vault at {self.addr} is sealed")
            if not self._token_valid():
                raise AuthenticationFailed("the Vault token is expired or revoked")
            self._check_mount()

    # --- payloads -------------------------------------------------------------------

    def put(self, tx: Session, ref: SecretRef, payload: SecretPayload, key: PublicKey) -> None:
        # Plain fields in Vault (its barrier encrypts them); `key` is not needed.
        path = self.path(ref.customer_slug, ref.credential_id)
        known = _last_kv_version(tx, ref.credential_id, before=ref.version)
        plain = {k: v.reveal() for k, v in payload.items()}
        with self._vault(f"writing {self.mount}/{path}"):
            written = self._write(path, plain, known)
        tx.execute(
            update(SecretVersion)
            .where(col(SecretVersion.credential_id) == ref.credential_id)
            .where(col(SecretVersion.version) == ref.version)
            .values(kv_version=written, ciphertext=None)
        )
        # If the SQL transaction does not commit, take the KV version back out.
        event.listen(tx, "after_rollback", lambda _s: self._undo_write(path, written), once=True)

    def _write(self, path: str, plain: dict[str, str], known: int | None) -> int:
        """Write with check-and-set against the last KV version custodian recorded."""
        import hvac.exceptions as hx

        cas = known or 0
        for _attempt in range(2):
            try:
                result = self._kv.create_or_update_secret(
                    path=path, secret=plain, cas=cas, mount_point=self.mount
                )
                return int(result["data"]["version"])
            except hx.InvalidRequest as exc:
                if "check-and-set" not in str(exc):
                    raise
                cas = self._cas_after_conflict(path, known)
        raise Conflict(f"another writer keeps changing {self.mount}/{path} in Vault")

    def _cas_after_conflict(self, path: str, known: int | None) -> int:
        """The KV holds versions custodian did not record. Versions from a rolled-back
        write (destroyed by `_undo_write`) may be written over; live ones are a real
        concurrent change. For a credential custodian has never written, everything
        there is an orphan of a failed write or an interrupted migration: cleared."""
        meta = self._metadata(path)
        if meta is None:
            return 0
        if known is None:
            self._kv.delete_metadata_and_all_versions(path=path, mount_point=self.mount)
            return 0
        newer = [v for n, v in meta["versions"].items() if int(n) > known]
        if any(_alive(v) for v in newer):
            raise Conflict(
                f"{self.mount}/{path} changed in Vault since custodian last read it:"
                " run `custodian cred history` to pick the change up, then retry"
            )
        return int(meta["current_version"])

    def _undo_write(self, path: str, version: int) -> None:
        if version == 1:
            self._quietly(
                self._kv.delete_metadata_and_all_versions, path=path, mount_point=self.mount
            )
        else:
            self._quietly(
                self._kv.destroy_secret_versions,
                path=path,
                versions=[version],
                mount_point=self.mount,
            )

    def _metadata(self, path: str) -> dict[str, Any] | None:
        import hvac.exceptions as hx

        try:
            return dict(self._kv.read_secret_metadata(path=path, mount_point=self.mount)["data"])
        except hx.InvalidPath:
            return None

    def _read(self, path: str, version: int) -> dict[str, Any] | None:
        return self._send_read(path, version)()

    def _send_read(self, path: str, version: int) -> Callable[[], dict[str, Any] | None]:
        """Send a KV read of `version` at `path` now (hvac's `read_secret_version`, split
        by the transport); the returned function waits for the fields, or None if that
        version is deleted, destroyed or was never written."""
        import hvac.exceptions as hx

        url = f"/v1/{quote(self.mount)}/data/{quote(path)}"
        pending = self._transport.send_get(url, {"version": version})

        def fields() -> dict[str, Any] | None:
            try:
                result = pending()
            except hx.InvalidPath:
                return None
            return dict(result["data"]["data"] or {})

        return fields

    def get(self, tx: Tx, ref: SecretRef, key: Callable[[], KeyPair]) -> SecretPayload:
        return self.fetch(tx, ref, key)()

    def fetch(
        self, tx: Tx, ref: SecretRef, key: Callable[[], KeyPair]
    ) -> Callable[[], SecretPayload]:
        kv_version = ref.kv_version
        if kv_version is None:
            kv_version = tx.execute(
                _KV_VERSION, {"credential": ref.credential_id, "version": ref.version}
            ).scalar()
        if not kv_version:
            raise IntegrityError(f"secret version {ref.version} has no payload in Vault")
        path = self.path(ref.customer_slug, ref.credential_id)
        answer = self._send_read(path, kv_version)  # on its way to Vault now
        # While Vault answers (it checks the token's policies): the actor must still hold
        # the customer key, the cryptographic half of authorization. Refused, the answer
        # is never read.
        key()

        def payload() -> SecretPayload:
            with self._vault(f"reading {self.mount}/{path}"):
                data = answer()
            if data is None:
                raise IntegrityError(
                    f"the payload of version {ref.version} is gone from Vault"
                    f" ({self.mount}/{path} v{kv_version}): run `custodian doctor`"
                )
            return _payload(data)

        return payload

    def read(self, customer_slug: str, credential_id: int, kv_version: int) -> SecretPayload | None:
        """One KV version as a payload, or None if it is gone (doctor and migrate)."""
        path = self.path(customer_slug, credential_id)
        with self._vault(f"reading {self.mount}/{path}"):
            data = self._read(path, kv_version)
        return None if data is None else _payload(data)

    def sync(self, tx: Session, ref: SecretRef) -> list[int]:
        path = self.path(ref.customer_slug, ref.credential_id)
        known = _last_kv_version(tx, ref.credential_id) or 0
        with self._vault(f"reading {self.mount}/{path}"):
            meta = self._metadata(path)
            if meta is None or int(meta["current_version"]) <= known:
                return []
            found: list[tuple[int, str, datetime]] = []
            for number, info in sorted(meta["versions"].items(), key=lambda kv: int(kv[0])):
                n = int(number)
                if n <= known or not _alive(info):
                    continue
                data = self._read(path, n)
                if data:
                    found.append((n, ",".join(sorted(_payload(data))), _time(info)))
        cred = tx.get(Credential, ref.credential_id)
        if cred is None or not found:
            return []
        added = []
        for n, fields, created in found:
            cred.current_version += 1
            tx.add(
                SecretVersion(
                    credential_id=ref.credential_id,
                    version=cred.current_version,
                    key_version=ref.key_version,
                    field_names=fields,
                    kv_version=n,
                    created_by=None,
                    created_at=created,
                )
            )
            added.append(cred.current_version)
        cred.updated_at = max(f[2] for f in found)
        tx.add(cred)
        tx.flush()
        return added

    def destroy_customer(self, tx: Session, customer_id: int) -> int:
        customer = tx.get(Customer, customer_id)
        if customer is None:
            return 0
        folder = f"{self.prefix}/{customer.slug}"
        destroyed = 0
        with self._vault(f"destroying {self.mount}/{folder}"):
            for key in self._list(folder):
                path = f"{folder}/{key}"
                meta = self._metadata(path)
                if meta is not None:
                    destroyed += sum(1 for v in meta["versions"].values() if not v["destroyed"])
                    self._kv.delete_metadata_and_all_versions(path=path, mount_point=self.mount)
            self._detach_everywhere(customer.slug)
        ids = select(Credential.id).where(Credential.customer_id == customer_id)
        tx.execute(
            update(SecretVersion)
            .where(col(SecretVersion.credential_id).in_(ids))
            .values(kv_version=None)
        )
        return destroyed

    def _list(self, folder: str) -> list[str]:
        import hvac.exceptions as hx

        try:
            keys = self._kv.list_secrets(path=folder, mount_point=self.mount)["data"]["keys"]
        except hx.InvalidPath:
            return []
        return [k for k in keys if not k.endswith("/")]

    def stored_paths(self) -> dict[str, list[int]]:
        """Every credential id stored under the prefix, by customer slug (for doctor)."""
        out: dict[str, list[int]] = {}
        with self._vault(f"listing {self.mount}/{self.prefix}"):
            import hvac.exceptions as hx

            try:
                slugs = self._kv.list_secrets(path=self.prefix, mount_point=self.mount)
            except hx.InvalidPath:
                return out
            for folder in slugs["data"]["keys"]:
                if folder.endswith("/"):
                    slug = folder.rstrip("/")
                    out[slug] = sorted(
                        int(k) for k in self._list(f"{self.prefix}/{slug}") if k.isdigit()
                    )
        return out

    def versions(self, customer_slug: str, credential_id: int) -> dict[int, bool]:
        """KV version -> alive (not deleted or destroyed), for doctor."""
        path = self.path(customer_slug, credential_id)
        with self._vault(f"reading {self.mount}/{path}"):
            meta = self._metadata(path)
        if meta is None:
            return {}
        return {int(n): _alive(v) for n, v in meta["versions"].items()}

    def delete_path(self, customer_slug: str, credential_id: int) -> None:
        path = self.path(customer_slug, credential_id)
        with self._vault(f"deleting {self.mount}/{path}"):
            self._kv.delete_metadata_and_all_versions(path=path, mount_point=self.mount)

    # --- access: policies on identity entities ---------------------------------------

    def on_grant(
        self, tx: Session, technician: str, customer_slug: str, until: datetime | None = None
    ) -> None:
        with self._vault(f"granting {technician} Vault access to {customer_slug}"):
            before = self._attach(technician, customer_slug, until)
        if before is not None:
            entity = f"identity/entity/name/{self.entity_name(technician)}"
            event.listen(
                tx,
                "after_rollback",
                lambda _s: self._quietly(self._client.write, entity, policies=before),
                once=True,
            )

    def on_revoke(self, tx: Session, technician: str, customer_slug: str) -> None:
        with self._vault(f"revoking {technician}'s Vault access to {customer_slug}"):
            self._detach(technician, customer_slug)
            self.revoke_tokens(technician)

    def on_offboard(self, tx: Session, customer_slug: str) -> None:
        with self._vault(f"detaching Vault access to {customer_slug}"):
            self._detach_everywhere(customer_slug)

    def revoke_tokens(self, technician: str) -> None:
        """Revoke every token `technician` got from a userpass login or their token role."""
        for prefix in (
            f"auth/{self.auth_mount}/login/{technician}/",
            f"auth/token/create/{self.entity_name(technician)}/",
        ):
            self._client.sys.revoke_prefix(prefix)

    def attached(self) -> dict[str, set[str]]:
        """Technician -> customer slugs whose policy is attached to their entity (doctor)."""
        out: dict[str, set[str]] = {}
        tech_prefix = self.entity_name("")
        pol_prefix = self.policy_name("")
        with self._vault("listing Vault identities"):
            for name in self._entity_names():
                if not name.startswith(tech_prefix):
                    continue
                out[name[len(tech_prefix) :]] = {
                    slug
                    for p in self._entity_policies(name) or []
                    if p.startswith(pol_prefix)
                    for slug, dot, _ in [p[len(pol_prefix) :].partition(".")]
                    if not dot or self._policy_exists(p)  # an expired grant's is gone
                }
        return out

    def set_access(
        self, technician: str, customer_slug: str, attach: bool, until: datetime | None = None
    ) -> None:
        """Attach (until `until`) or detach one customer's access (doctor's repair)."""
        with self._vault(f"repairing {technician}'s Vault access to {customer_slug}"):
            if attach:
                self._attach(technician, customer_slug, until)
            else:
                self._detach(technician, customer_slug)

    def technician_token(self, technician: str, ttl: str = "8h") -> Secret:
        """A token for `technician`, bound to their entity through their token role."""
        with self._vault(f"creating a Vault token for {technician}"):
            self._ensure_identity(technician)
            name = self.entity_name(technician)
            result = self._client.auth.token.create(
                role_name=name, entity_alias=name, policies=["default"], ttl=ttl
            )
        return Secret(result["auth"]["client_token"])

    def _ensure_identity(self, technician: str) -> None:
        """The technician's entity, its aliases (token role, auth mount) and token role."""
        name = self.entity_name(technician)
        if self._entity_policies(name) is None:
            entity = self._client.write(f"identity/entity/name/{name}", policies=[])
            entity_id = (entity or {}).get("data", {}).get("id") or self._entity_id(name)
            accessors = self._auth_accessors()
            aliases = [("token/", name)]
            if f"{self.auth_mount}/" in accessors:
                aliases.append((f"{self.auth_mount}/", technician))
            for mount, alias in aliases:
                self._alias(entity_id, accessors[mount], alias, technician)
        self._client.write(
            f"auth/token/roles/{name}",
            allowed_entity_aliases=[name],
            allowed_policies=["default"],
            orphan=True,
            token_type="service",  # noqa: S106  a token kind, not a token
        )

    def _alias(self, entity_id: str, accessor: str, alias: str, technician: str) -> None:
        import hvac.exceptions as hx

        try:
            self._client.write(
                "identity/entity-alias",
                name=alias,
                canonical_id=entity_id,
                mount_accessor=accessor,
            )
        except hx.InvalidRequest:
            raise UsageError(
                f"Vault already maps {alias!r} to another identity: attach it to entity"
                f" {self.entity_name(technician)!r} or remove it (see docs/vault-backend.md)"
            ) from None

    def _auth_accessors(self) -> dict[str, str]:
        if self._accessors is None:
            methods = self._client.sys.list_auth_methods()
            table = methods.get("data", methods)
            self._accessors = {
                path: info["accessor"]
                for path, info in table.items()
                if isinstance(info, dict) and "accessor" in info
            }
        return self._accessors

    def _entity_names(self) -> list[str]:
        import hvac.exceptions as hx

        try:
            listed = self._client.list("identity/entity/name")
        except hx.InvalidPath:
            return []
        return list(((listed or {}).get("data") or {}).get("keys") or [])

    def _entity_id(self, name: str) -> str:
        return str(self._client.read(f"identity/entity/name/{name}")["data"]["id"])

    def _entity_policies(self, name: str) -> list[str] | None:
        import hvac.exceptions as hx

        try:
            entity = self._client.read(f"identity/entity/name/{name}")
        except hx.InvalidPath:
            return None
        if not entity:
            return None
        return list(entity["data"].get("policies") or [])

    def _attach(
        self, technician: str, customer_slug: str, until: datetime | None
    ) -> list[str] | None:
        """Give the technician's entity access to the customer: the customer's policy for
        a standing grant; for a grant until `until`, a policy of its own that Vault itself
        deletes at that time (OpenBao's policy `expiration`). Returns the entity's
        policies before, if they changed."""
        shared = self.policy_name(customer_slug)
        own = self.grant_policy_name(customer_slug, technician)
        self._ensure_identity(technician)
        policy = self._write_expiring(own, customer_slug, until) if until else shared
        if policy == shared:
            self._client.sys.create_or_update_policy(
                name=shared, policy=self.policy_text(customer_slug)
            )
        before = self._edit_policies(
            technician, add=[policy] if policy else [], remove={shared, own} - {policy}
        )
        if policy != own:
            self._client.sys.delete_policy(name=own)
        return before

    def _write_expiring(self, name: str, customer_slug: str, until: datetime) -> str | None:
        """Write the policy `name` expiring at `until`. Returns `name`; None when `until`
        has passed by Vault's clock; the customer's shared policy when the server keeps
        no policy expiry (HashiCorp Vault): custodian's maintenance then ends the grant."""
        import hvac.exceptions as hx

        try:
            self._client.write(
                f"sys/policies/acl/{name}",
                policy=self.policy_text(customer_slug),
                expiration=as_utc(until).isoformat(),
            )
        except hx.InvalidRequest as exc:
            if "elapsed" in str(exc):
                return None
            raise
        written = self._client.read(f"sys/policies/acl/{name}") or {}
        if not (written.get("data") or {}).get("expiration"):
            return self.policy_name(customer_slug)
        return name

    def _detach(self, technician: str, customer_slug: str) -> None:
        own = self.grant_policy_name(customer_slug, technician)
        self._edit_policies(technician, remove={self.policy_name(customer_slug), own})
        self._client.sys.delete_policy(name=own)

    def _policy_exists(self, name: str) -> bool:
        import hvac.exceptions as hx

        try:
            return bool(self._client.read(f"sys/policies/acl/{name}"))
        except hx.InvalidPath:
            return False

    def _edit_policies(
        self, technician: str, *, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> list[str] | None:
        """Add and remove policies on the technician's entity; its policies before, if
        they changed."""
        name = self.entity_name(technician)
        policies = self._entity_policies(name)
        if policies is None:
            return None
        wanted = sorted((set(policies) - set(remove)) | set(add))
        if wanted == sorted(policies):
            return None
        self._client.write(f"identity/entity/name/{name}", policies=wanted)
        return policies

    def _detach_everywhere(self, customer_slug: str) -> None:
        """Nobody keeps access to the customer: its policy and every grant's are gone."""
        shared = self.policy_name(customer_slug)
        tech_prefix = self.entity_name("")
        for name in self._entity_names():
            if name.startswith(tech_prefix):
                technician = name[len(tech_prefix) :]
                self._detach(technician, customer_slug)
        self._client.sys.delete_policy(name=shared)

    def _quietly(self, fn: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        # Best effort, after a rollback: `custodian doctor` repairs whatever remains.
        with contextlib.suppress(Exception):
            fn(*args, **kwargs)


# --- helpers ----------------------------------------------------------------------------


def _last_kv_version(tx: Session, credential_id: int, before: int | None = None) -> int | None:
    query = select(func.max(SecretVersion.kv_version)).where(
        SecretVersion.credential_id == credential_id
    )
    if before is not None:
        query = query.where(SecretVersion.version < before)
    value = tx.exec(query).first()
    return int(value) if value else None


def _alive(info: dict[str, Any]) -> bool:
    return not info.get("destroyed") and not info.get("deletion_time")


def _time(info: dict[str, Any]) -> datetime:
    raw = str(info.get("created_time") or "")
    try:
        # Vault prints nanoseconds; Python parses microseconds.
        head, _, frac = raw.rstrip("Z").partition(".")
        return datetime.fromisoformat(f"{head}.{(frac + '000000')[:6]}").replace(tzinfo=UTC)
    except ValueError:
        return datetime.now(UTC)


def _payload(data: dict[str, Any]) -> SecretPayload:
    if not data or not all(isinstance(v, str) for v in data.values()):
        raise IntegrityError("a payload in Vault is not a set of text fields")
    try:
        return SecretPayload(data)
    except UsageError as exc:
        raise IntegrityError(f"a payload in Vault is malformed: {exc}") from None


def _first(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200]
