"""The import: many credentials in ONE transaction, or none.

`import_items` opens one transaction (`Database.atomic`) and runs the ordinary use cases
(`customers.add_customer`, `credentials.add_system`, `credentials.add_credential`,
`credentials.set_secret`) inside it: every transaction they open joins the bulk one, so
authorization, sealing and audit events are exactly those of the single-item commands, and
a failure anywhere rolls the whole import back. The readers that turn files into
`ImportItem`s are `custodian.exchange.importers`.

Re-running an import updates instead of duplicating: items are keyed by
customer/system/name. An unchanged secret writes no new version, but telling "unchanged"
needs the current version decrypted, which needs a grant: without one, every existing
credential gets a new version (sealing to the customer's public key needs no grant).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from ..db.models import Credential, Customer, Role
from ..errors import AccessDenied, CustodianError, NotFound, UsageError
from ..exchange.importers import ImportItem, guess_kind
from ..paths import CredentialPath, check_name, check_slug
from ..secret import SecretPayload
from ..totp import parse_seed
from . import credentials, customers, inputs, reveal, rows, secret_policy

if TYPE_CHECKING:
    from .actor import Actor

Progress = Callable[[int, int], None]

MAX_VALUE = 64 * 1024  # the notes and other metadata; secret fields: the vault's field limit
_EXPUNGE_EVERY = 500  # keep the ORM identity map small on big imports


@dataclass(frozen=True)
class ImportReport:
    """What an import did (or, with `dry_run`, would do). Paths only, never values."""

    dry_run: bool
    customers: tuple[str, ...]
    systems: tuple[str, ...]
    created: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    compared: int  # existing credentials whose current version could be read and compared

    def rows(self) -> list[dict[str, str]]:
        out = [{"action": "create-customer", "target": c} for c in self.customers]
        out += [{"action": "create-system", "target": s} for s in self.systems]
        for action, paths in (
            ("create", self.created),
            ("update", self.updated),
            ("unchanged", self.unchanged),
        ):
            out += [{"action": action, "target": p} for p in paths]
        return out


class _DryRun(Exception):
    def __init__(self, report: ImportReport) -> None:
        self.report = report


def import_items(
    actor: Actor,
    items: Iterable[ImportItem],
    *,
    source: str,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Create or update every item in one transaction. `dry_run` does all of it,
    checks included, then rolls back. Errors name the item's source location."""
    todo = list(items)
    _check_unique(todo)
    if actor.role == Role.AUDITOR:
        raise AccessDenied("auditors cannot import")
    try:
        with actor.atomic() as tx:
            report = _Importer(actor, tx).run(todo, dry_run, progress)
            actor.record(
                tx,
                "import",
                target=source[:600],
                detail={
                    "created": len(report.created),
                    "updated": len(report.updated),
                    "unchanged": len(report.unchanged),
                    "customers": len(report.customers),
                    "systems": len(report.systems),
                },
            )
            if dry_run:
                raise _DryRun(report)
    except _DryRun as done:
        return done.report
    return report


class _Importer:
    """One import's progress: what it created, updated and found unchanged so far."""

    def __init__(self, actor: Actor, tx: Session) -> None:
        self.actor, self.tx = actor, tx
        self.customers: list[str] = []
        self.systems: list[str] = []
        self.created: list[str] = []
        self.updated: list[str] = []
        self.unchanged: list[str] = []
        self.compared = 0
        self._known_customers: set[str] = set()
        self._known_systems: set[tuple[str, str]] = set()
        self._new_systems: set[tuple[str, str]] = set()  # created here: no credentials yet
        self.field_limit = secret_policy.field_limit_of(tx)

    def run(
        self, items: Sequence[ImportItem], dry_run: bool, progress: Progress | None
    ) -> ImportReport:
        for n, item in enumerate(items, 1):
            try:
                self._one(item)
            except CustodianError as exc:
                raise type(exc)(f"{item.source}: {exc}") from None
            if n % _EXPUNGE_EVERY == 0:
                self.tx.expunge_all()
            if progress is not None:
                progress(n, len(items))
        return ImportReport(
            dry_run,
            tuple(self.customers),
            tuple(self.systems),
            tuple(self.created),
            tuple(self.updated),
            tuple(self.unchanged),
            self.compared,
        )

    def _one(self, item: ImportItem) -> None:
        _check_item(item, self.field_limit)
        payload = SecretPayload(item.fields)
        self._ensure_customer(item)
        self._ensure_system(item)
        path = str(CredentialPath.parse(item.path))
        fresh = (item.customer, item.system) in self._new_systems
        existing = None if fresh else self._existing(item)
        if existing is None:
            credentials.add_credential(
                self.actor, path, payload, username=item.username, url=item.url, notes=item.notes
            )
            self.created.append(path)
            return
        customer, cred = existing
        meta_changed = (cred.username, cred.url, cred.notes) != (
            item.username,
            item.url,
            item.notes,
        )
        if meta_changed:
            cred.username, cred.url, cred.notes = item.username, item.url, item.notes
            self.tx.add(cred)
            self.actor.record(
                self.tx,
                "cred-edit",
                customer_id=customer.id,
                credential_id=cred.id,
                target=path,
                detail={"via": "import"},
            )
        same = self._same_secret(customer, cred, payload)
        if not same:
            credentials.set_secret(self.actor, path, payload, keep_other_fields=False)
        (self.updated if meta_changed or not same else self.unchanged).append(path)

    def _ensure_customer(self, item: ImportItem) -> None:
        slug = check_slug(item.customer)
        if slug in self._known_customers:
            return
        if self.tx.exec(select(Customer.id).where(Customer.slug == slug)).first() is None:
            if self.actor.role != Role.ADMIN:
                raise AccessDenied(f"creating customer {slug!r} needs the role admin")
            customers.add_customer(self.actor, slug, item.customer_name or slug)
            self.customers.append(slug)
        self._known_customers.add(slug)

    def _ensure_system(self, item: ImportItem) -> None:
        key = (item.customer, check_name(item.system, "system"))
        if key in self._known_systems:
            return
        customer = self.actor.writable_customer(self.tx, item.customer)
        if rows.find_system(self.tx, customer, item.system) is None:
            kind = item.kind or guess_kind(item.system)
            credentials.add_system(
                self.actor, f"{item.customer}/{item.system}", kind, host=item.host
            )
            self._new_systems.add(key)
            self.systems.append(f"{item.customer}/{item.system} ({kind.value})")
        self._known_systems.add(key)

    def _existing(self, item: ImportItem) -> tuple[Customer, Credential] | None:
        customer = self.actor.writable_customer(self.tx, item.customer)
        system = rows.find_system(self.tx, customer, item.system)
        cred = rows.find_credential(self.tx, system, item.name) if system else None
        return None if cred is None else (customer, cred)

    def _same_secret(self, customer: Customer, cred: Credential, payload: SecretPayload) -> bool:
        """Whether the current version holds exactly `payload`; False when unreadable."""
        if self.actor.live_grant(self.tx, customer.id or 0) is None:
            return False
        current = rows.version(self.tx, cred, None)
        if current is None:
            return False
        try:
            old = reveal.open_version(self.actor, self.tx, customer, cred, current)
        except (AccessDenied, NotFound):
            return False
        self.compared += 1
        return hmac.compare_digest(old.to_bytes(), payload.to_bytes())


# --- validation -----------------------------------------------------------------------


def _check_item(item: ImportItem, field_limit: int) -> None:
    inputs.check_payload(SecretPayload(item.fields), field_limit)
    if item.notes is not None:
        inputs.check_value(item.notes, "notes", MAX_VALUE)
    for what, text, limit in (
        ("username", item.username, 255),
        ("URL", item.url, 2048),
        ("host", item.host, 255),
        ("customer name", item.customer_name, 200),
    ):
        if text is not None:
            inputs.check_value(text, what, limit)
    if "otp" in item.fields:
        parse_seed(item.fields["otp"].reveal())


def _check_unique(items: Sequence[ImportItem]) -> None:
    seen: dict[tuple[str, str, str], str] = {}
    for item in items:
        key = (item.customer, item.system, item.name)
        if key in seen:
            raise UsageError(
                f"{item.source}: {item.path!r} appears twice (also at {seen[key]});"
                " rename one, or import with --dedupe"
            )
        seen[key] = item.source
