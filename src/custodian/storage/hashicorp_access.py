"""Per-customer access in HashiCorp Vault / OpenBao: policies on identity entities.

Policy `<prefix>-customer-S` (read and write on S's paths) is attached to the identity
entity `<prefix>-tech-T` of every technician T granted S. Entity policies apply to all of
T's tokens at once, whether from userpass login or from the token role `<prefix>-tech-T`;
revoking detaches the policy and revokes T's login and role tokens. A grant with an end
gets its own policy `<prefix>-customer-S.T` instead, written with OpenBao's policy
`expiration`, so Vault itself ends it at that time.

Every method here runs inside the caller's `VaultClient.errors`, which translates hvac's
exceptions.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from ..clock import as_utc
from ..errors import UsageError
from ..secret import Secret
from .hashicorp_client import VaultClient


class VaultAccess:
    """Who may read which customer's paths, kept as Vault policies on identity entities."""

    def __init__(self, client: VaultClient) -> None:
        self.client = client
        self._accessors: dict[str, str] | None = None

    def attach(
        self, technician: str, customer_slug: str, until: datetime | None
    ) -> list[str] | None:
        """Give the technician's entity access to the customer: the customer's policy for
        a standing grant; for a grant until `until`, a policy of its own that Vault itself
        deletes at that time (OpenBao's policy `expiration`). Returns the entity's
        policies before, if they changed."""
        c = self.client
        shared = c.policy_name(customer_slug)
        own = c.grant_policy_name(customer_slug, technician)
        self.ensure_identity(technician)
        policy = self._write_expiring(own, customer_slug, until) if until else shared
        if policy == shared:
            c.hvac.sys.create_or_update_policy(name=shared, policy=c.policy_text(customer_slug))
        before = self.edit_policies(
            technician, add=[policy] if policy else [], remove={shared, own} - {policy}
        )
        if policy != own:
            c.hvac.sys.delete_policy(name=own)
        return before

    def _write_expiring(self, name: str, customer_slug: str, until: datetime) -> str | None:
        """Write the policy `name` expiring at `until`. Returns `name`; None when `until`
        has passed by Vault's clock; the customer's shared policy when the server keeps
        no policy expiry (HashiCorp Vault): custodian's maintenance then ends the grant."""
        import hvac.exceptions as hx

        c = self.client
        try:
            c.hvac.write(
                f"sys/policies/acl/{name}",
                policy=c.policy_text(customer_slug),
                expiration=as_utc(until).isoformat(),
            )
        except hx.InvalidRequest as exc:
            if "elapsed" in str(exc):
                return None
            raise
        written = c.hvac.read(f"sys/policies/acl/{name}") or {}
        if not (written.get("data") or {}).get("expiration"):
            return c.policy_name(customer_slug)
        return name

    def detach(self, technician: str, customer_slug: str) -> None:
        own = self.client.grant_policy_name(customer_slug, technician)
        self.edit_policies(technician, remove={self.client.policy_name(customer_slug), own})
        self.client.hvac.sys.delete_policy(name=own)

    def detach_everywhere(self, customer_slug: str) -> None:
        """Nobody keeps access to the customer: its policy and every grant's are gone."""
        tech_prefix = self.client.entity_name("")
        for name in self.entity_names():
            if name.startswith(tech_prefix):
                self.detach(name[len(tech_prefix) :], customer_slug)
        self.client.hvac.sys.delete_policy(name=self.client.policy_name(customer_slug))

    def revoke_tokens(self, technician: str) -> None:
        """Revoke every token `technician` got from a userpass login or their token role."""
        for prefix in (
            f"auth/{self.client.auth_mount}/login/{technician}/",
            f"auth/token/create/{self.client.entity_name(technician)}/",
        ):
            self.client.hvac.sys.revoke_prefix(prefix)

    def attached(self) -> dict[str, set[str]]:
        """Technician -> customer slugs whose policy is attached to their entity."""
        out: dict[str, set[str]] = {}
        tech_prefix = self.client.entity_name("")
        pol_prefix = self.client.policy_name("")
        for name in self.entity_names():
            if not name.startswith(tech_prefix):
                continue
            out[name[len(tech_prefix) :]] = {
                slug
                for p in self.entity_policies(name) or []
                if p.startswith(pol_prefix)
                for slug, dot, _ in [p[len(pol_prefix) :].partition(".")]
                if not dot or self._policy_exists(p)  # an expired grant's is gone
            }
        return out

    def technician_token(self, technician: str, ttl: str) -> Secret:
        """A token for `technician`, bound to their entity through their token role."""
        self.ensure_identity(technician)
        name = self.client.entity_name(technician)
        result = self.client.hvac.auth.token.create(
            role_name=name, entity_alias=name, policies=["default"], ttl=ttl
        )
        return Secret(result["auth"]["client_token"])

    def ensure_identity(self, technician: str) -> None:
        """The technician's entity, its aliases (token role, auth mount) and token role."""
        c = self.client
        name = c.entity_name(technician)
        if self.entity_policies(name) is None:
            entity = c.hvac.write(f"identity/entity/name/{name}", policies=[])
            entity_id = (entity or {}).get("data", {}).get("id") or self._entity_id(name)
            accessors = self._auth_accessors()
            aliases = [("token/", name)]
            if f"{c.auth_mount}/" in accessors:
                aliases.append((f"{c.auth_mount}/", technician))
            for mount, alias in aliases:
                self._alias(entity_id, accessors[mount], alias, technician)
        c.hvac.write(
            f"auth/token/roles/{name}",
            allowed_entity_aliases=[name],
            allowed_policies=["default"],
            orphan=True,
            token_type="service",  # noqa: S106  a token kind, not a token
        )

    def _alias(self, entity_id: str, accessor: str, alias: str, technician: str) -> None:
        import hvac.exceptions as hx

        try:
            self.client.hvac.write(
                "identity/entity-alias",
                name=alias,
                canonical_id=entity_id,
                mount_accessor=accessor,
            )
        except hx.InvalidRequest:
            raise UsageError(
                f"Vault already maps {alias!r} to another identity: attach it to entity"
                f" {self.client.entity_name(technician)!r} or remove it"
                " (see docs/vault-backend.md)"
            ) from None

    def _auth_accessors(self) -> dict[str, str]:
        if self._accessors is None:
            methods = self.client.hvac.sys.list_auth_methods()
            table = methods.get("data", methods)
            self._accessors = {
                path: info["accessor"]
                for path, info in table.items()
                if isinstance(info, dict) and "accessor" in info
            }
        return self._accessors

    def entity_names(self) -> list[str]:
        import hvac.exceptions as hx

        try:
            listed = self.client.hvac.list("identity/entity/name")
        except hx.InvalidPath:
            return []
        return list(((listed or {}).get("data") or {}).get("keys") or [])

    def _entity_id(self, name: str) -> str:
        return str(self.client.hvac.read(f"identity/entity/name/{name}")["data"]["id"])

    def entity_policies(self, name: str) -> list[str] | None:
        import hvac.exceptions as hx

        try:
            entity = self.client.hvac.read(f"identity/entity/name/{name}")
        except hx.InvalidPath:
            return None
        if not entity:
            return None
        return list(entity["data"].get("policies") or [])

    def _policy_exists(self, name: str) -> bool:
        import hvac.exceptions as hx

        try:
            return bool(self.client.hvac.read(f"sys/policies/acl/{name}"))
        except hx.InvalidPath:
            return False

    def edit_policies(
        self, technician: str, *, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> list[str] | None:
        """Add and remove policies on the technician's entity; its policies before, if
        they changed."""
        name = self.client.entity_name(technician)
        policies = self.entity_policies(name)
        if policies is None:
            return None
        wanted = sorted((set(policies) - set(remove)) | set(add))
        if wanted == sorted(policies):
            return None
        self.client.hvac.write(f"identity/entity/name/{name}", policies=wanted)
        return policies

    def restore_policies(self, technician: str, policies: list[str]) -> None:
        """Put the entity's policies back as they were (best effort, after a rollback)."""
        entity = f"identity/entity/name/{self.client.entity_name(technician)}"
        self.client.quietly(self.client.hvac.write, entity, policies=policies)
