"""What every reader shares: the mapping rule, name cleaning, building items."""

from __future__ import annotations

import fnmatch
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from ...db.models import SystemKind
from ...errors import UsageError
from ...secret import Secret
from .item import ImportItem

DEFAULT_SYSTEM = "general"
_NAME_BAD = re.compile(r"[^A-Za-z0-9 ._@+()-]+")
_FIELD_BAD = re.compile(r"[^a-z0-9._-]+")
_STANDARD = frozenset({"password", "otp", "otp-seed"})


@dataclass(frozen=True)
class Rule:
    """How rows map to customers and systems.

    - `customer`: every item goes to this customer slug.
    - `map_groups`: the top group (KeePass) or the first segment of a folder path
      (`Acme/DC01`) names the customer, the rest the system.
    - `kind_map`: (glob, kind) pairs matched against system names before guessing.
    - `dedupe`: number repeated names (`admin (2)`) instead of refusing them.
    """

    customer: str | None = None
    map_groups: bool = False
    kind_map: tuple[tuple[str, SystemKind], ...] = ()
    default_system: str = DEFAULT_SYSTEM
    dedupe: bool = False

    def kind_for(self, system: str) -> SystemKind | None:
        for pattern, kind in self.kind_map:
            if fnmatch.fnmatchcase(system.lower(), pattern.lower()):
                return kind
        return None


@dataclass
class Parsed:
    items: list[ImportItem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def finish(self, rule: Rule) -> Parsed:
        if rule.dedupe:
            self.items = _dedupe(self.items)
        return self


def parse_kind(text: str, source: str) -> SystemKind:
    try:
        return SystemKind(text.strip().lower())
    except ValueError:
        choices = ", ".join(k.value for k in SystemKind)
        raise UsageError(
            f"{source}: unknown system kind {text[:40]!r} (one of {choices})"
        ) from None


def parse_kind_map(specs: tuple[str, ...]) -> tuple[tuple[str, SystemKind], ...]:
    """`--kind-map 'sw-*=switch'` options, in order."""
    out = []
    for spec in specs:
        pattern, sep, kind = spec.rpartition("=")
        if not sep or not pattern:
            raise UsageError(f"--kind-map expects GLOB=KIND, got {spec[:60]!r}")
        out.append((pattern, parse_kind(kind, "--kind-map")))
    return tuple(out)


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    return "".join(c for c in folded if not unicodedata.combining(c))


def slugify(label: str, source: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", _ascii(label).lower()).strip("-")[:63].rstrip("-")
    if not slug:
        raise UsageError(f"{source}: the customer {label[:60]!r} gives no usable slug")
    return slug


def clean_name(label: str, what: str, source: str) -> str:
    """A name custodian accepts: other characters become spaces, leading punctuation
    (a spreadsheet formula's `=`, `+`, `-`, `@`) is dropped."""
    text = " ".join(_NAME_BAD.sub(" ", _ascii(label)).split())
    text = text.lstrip(" ._@+()-")
    if not text:
        raise UsageError(f"{source}: the {what} name {label[:60]!r} has no usable characters")
    if len(text) > 128:
        raise UsageError(f"{source}: the {what} name is longer than 128 characters")
    return text


def field_name(label: str, source: str) -> str:
    """A custom field's label as a secret field name: `Enable Secret` -> `enable-secret`."""
    name = _FIELD_BAD.sub("-", _ascii(label).strip().lower()).strip("-")[:64]
    if not name:
        raise UsageError(f"{source}: the field {label[:60]!r} has no usable name")
    if name in _STANDARD:
        raise UsageError(f"{source}: a custom field is named {label[:60]!r}, a reserved name")
    return name


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def make_item(
    rule: Rule,
    source: str,
    *,
    customer: str | None,
    system: str | None,
    name: str | None,
    secrets: Mapping[str, str | None],
    username: str | None = None,
    url: str | None = None,
    notes: str | None = None,
    kind: str | None = None,
    host: str | None = None,
    files: Mapping[str, bytes] | None = None,
    parsed: Parsed,
) -> None:
    """Build one item and add it to `parsed`, or note why it is skipped."""
    if rule.customer is not None:
        slug, display = rule.customer, None
    elif customer and customer.strip():
        slug, display = slugify(customer, source), customer.strip()[:200]
    else:
        raise UsageError(f"{source}: no customer (give --customer SLUG or map a customer column)")
    system_name = (
        clean_name(system, "system", source) if system and _text(system) else rule.default_system
    )
    label = _text(name) or _text(username)
    if label is None:
        raise UsageError(f"{source}: the entry has neither a name nor a username")
    fields = {k: Secret(v) for k, v in secrets.items() if v is not None and v != ""}
    for name, data in (files or {}).items():
        if name in fields:
            raise UsageError(f"{source}: an attachment and a field are both named {name!r}")
        if data:
            fields[name] = Secret.from_bytes(data)
    if not fields:
        parsed.skipped.append(f"{source}: no password or other secret field; skipped")
        return
    explicit = parse_kind(kind, source) if kind and _text(kind) else None
    parsed.items.append(
        ImportItem(
            source=source,
            customer=slug,
            customer_name=display,
            system=system_name,
            name=clean_name(label, "credential", source),
            fields=fields,
            username=_text(username),
            url=_text(url),
            notes=notes if notes and notes.strip() else None,
            kind=explicit or rule.kind_for(system_name),
            host=_text(host),
        )
    )


def _dedupe(items: list[ImportItem]) -> list[ImportItem]:
    seen: dict[tuple[str, str, str], int] = {}
    out = []
    for item in items:
        key = (item.customer, item.system, item.name)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            item = replace(item, name=f"{item.name[:120]} ({seen[key]})")
        out.append(item)
    return out
