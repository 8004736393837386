"""HashiCorp Vault / OpenBao: the connection, its error map, naming and the KV v2 calls.

Every use of hvac is in the `hashicorp*.py` modules (and the transport,
`hashicorp_http.py`), and its exceptions and the transport's are translated here, in
`VaultClient.errors`:

    unreachable, sealed, 5xx        -> BackendUnavailable
    403, token still valid          -> AccessDenied
    403, token expired or revoked   -> AuthenticationFailed
    mount missing or not KV v2      -> BackendUnavailable (names the mount)
    check-and-set mismatch          -> Conflict
    version deleted or destroyed    -> IntegrityError (by the store)

The token is read from `VAULT_TOKEN` (or `BAO_TOKEN`, or `~/.vault-token`) and kept only
inside the hvac client: it is in no repr, message or log line.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote

from ..errors import (
    AccessDenied,
    AuthenticationFailed,
    BackendUnavailable,
    Conflict,
    CustodianError,
    UsageError,
)

if TYPE_CHECKING:
    import hvac

    from .hashicorp_http import VaultTransport

TIMEOUT_SECONDS = 10.0


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


class VaultClient:
    """One Vault server, KV mount, path prefix and auth mount, reached with one token."""

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

    @classmethod
    def from_env(
        cls,
        addr: str | None = None,
        *,
        mount: str = "secret",
        prefix: str = "custodian",
        auth_mount: str = "userpass",
    ) -> Self:
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
        return f"{type(self).__name__}({self.addr!r}, mount={self.mount!r}, prefix={self.prefix!r})"

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
    def hvac(self) -> hvac.Client:
        """The hvac client (made on first use, over custodian's transport)."""
        if self._hvac is None:
            if not self._token:
                raise AuthenticationFailed(
                    "no Vault token: set VAULT_TOKEN or log in with `bao login`"
                )
            import hvac

            from .hashicorp_http import VaultTransport

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
    def transport(self) -> VaultTransport:
        return self.hvac.adapter  # type: ignore[no-any-return]

    @property
    def kv(self) -> Any:
        return self.hvac.secrets.kv.v2

    @contextmanager
    def errors(self, what: str) -> Iterator[None]:
        """Translate whatever hvac or the transport raise while doing `what` (one line each)."""
        import hvac.exceptions as hx

        from .hashicorp_http import TRANSPORT_ERRORS

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
            if not self.token_valid():
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

    def token_valid(self) -> bool:
        import hvac.exceptions as hx

        from .hashicorp_http import TRANSPORT_ERRORS

        try:
            self.hvac.auth.token.lookup_self()
        except hx.Forbidden:
            return False
        except (hx.VaultError, *TRANSPORT_ERRORS):
            return True  # cannot tell; the caller reports the original refusal
        return True

    def _check_mount(self) -> None:
        """Raise a clear error when the configured mount is absent or not KV version 2."""
        import hvac.exceptions as hx

        from .hashicorp_http import TRANSPORT_ERRORS

        try:
            info = self.hvac.read(f"sys/internal/ui/mounts/{self.mount}")
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
        with self.errors("checking the server"):
            status = self.hvac.sys.read_health_status(method="GET")
            if isinstance(status, dict) and status.get("sealed"):
                raise BackendUnavailable(f"Vault at {self.addr} is sealed")
            if not self.token_valid():
                raise AuthenticationFailed("the Vault token is expired or revoked")
            self._check_mount()

    # --- KV v2 (inside `errors`) --------------------------------------------------------

    def write(self, path: str, plain: dict[str, str], known: int | None) -> int:
        """Write with check-and-set against the last KV version custodian recorded."""
        import hvac.exceptions as hx

        cas = known or 0
        for _attempt in range(2):
            try:
                result = self.kv.create_or_update_secret(
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
        write (destroyed by `undo_write`) may be written over; live ones are a real
        concurrent change. For a credential custodian has never written, everything
        there is an orphan of a failed write or an interrupted migration: cleared."""
        meta = self.metadata(path)
        if meta is None:
            return 0
        if known is None:
            self.delete(path)
            return 0
        newer = [v for n, v in meta["versions"].items() if int(n) > known]
        if any(alive(v) for v in newer):
            raise Conflict(
                f"{self.mount}/{path} changed in Vault since custodian last read it:"
                " run `custodian cred history` to pick the change up, then retry"
            )
        return int(meta["current_version"])

    def undo_write(self, path: str, version: int) -> None:
        """Take a written KV version back out (best effort, after a rollback)."""
        if version == 1:
            self.quietly(self.delete, path)
        else:
            self.quietly(
                self.kv.destroy_secret_versions,
                path=path,
                versions=[version],
                mount_point=self.mount,
            )

    def delete(self, path: str) -> None:
        self.kv.delete_metadata_and_all_versions(path=path, mount_point=self.mount)

    def metadata(self, path: str) -> dict[str, Any] | None:
        import hvac.exceptions as hx

        try:
            return dict(self.kv.read_secret_metadata(path=path, mount_point=self.mount)["data"])
        except hx.InvalidPath:
            return None

    def send_read(self, path: str, version: int) -> Callable[[], dict[str, Any] | None]:
        """Send a KV read of `version` at `path` now (hvac's `read_secret_version`, split
        by the transport); the returned function waits for the fields, or None if that
        version is deleted, destroyed or was never written."""
        answer = self.send_versioned_read(path, version)
        return lambda: answer()[0]

    def send_versioned_read(
        self, path: str, version: int | None = None
    ) -> Callable[[], tuple[dict[str, Any] | None, int]]:
        """`send_read`, of the newest version when `version` is None; the function
        returns (the fields or None, the KV version read, 0 if none)."""
        import hvac.exceptions as hx

        url = f"/v1/{quote(self.mount)}/data/{quote(path)}"
        pending = self.transport.send_get(url, None if version is None else {"version": version})

        def answer() -> tuple[dict[str, Any] | None, int]:
            try:
                result = pending()
            except hx.InvalidPath:
                return None, 0
            data = result["data"]
            return dict(data["data"] or {}), int(data["metadata"]["version"])

        return answer

    def keys(self, folder: str) -> list[str]:
        """The keys under `folder` (sub-folders end with `/`); none if it is absent."""
        import hvac.exceptions as hx

        try:
            keys = self.kv.list_secrets(path=folder, mount_point=self.mount)["data"]["keys"]
        except hx.InvalidPath:
            return []
        return list(keys)

    def quietly(self, fn: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        # Best effort, after a rollback: `custodian doctor` repairs whatever remains.
        with contextlib.suppress(Exception):
            fn(*args, **kwargs)


def alive(info: dict[str, Any]) -> bool:
    """A KV version's metadata says it is neither deleted nor destroyed."""
    return not info.get("destroyed") and not info.get("deletion_time")


def _first(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200]
