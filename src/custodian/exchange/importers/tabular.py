"""CSV exports with a column mapping or a preset, and Bitwarden's JSON export.

Targets a mapping can name: customer, system, name, username, password, url, notes,
otp, kind, host; any other target becomes an extra secret field of that name
(`enable-secret=Enable`). Header names match case-insensitively, ignoring spaces,
`_` and `-`. Where the column layouts come from is in docs/import-backup.md.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path
from typing import Any

from ...errors import UsageError
from ...secret import MAX_FIELD_BYTES
from ._common import Parsed, Rule, field_name, make_item

META = ("customer", "system", "name", "username", "url", "notes", "kind", "host")
SECRET = ("password", "otp")

# target -> header candidates, first present wins (docs/import-backup.md: sources).
PRESETS: dict[str, dict[str, tuple[str, ...]]] = {
    "bitwarden": {
        "system": ("folder", "collections"),
        "name": ("name",),
        "notes": ("notes",),
        "url": ("login_uri",),
        "username": ("login_username",),
        "password": ("login_password",),
        "otp": ("login_totp",),
        "_fields": ("fields",),
        "_type": ("type",),
    },
    "hudu": {
        "customer": ("company_name", "company"),
        "system": ("password_folder_name", "password_folder", "folder"),
        "name": ("name",),
        "username": ("username",),
        "password": ("password",),
        "url": ("url", "website"),
        "notes": ("description", "notes"),
        "otp": ("otp_secret", "otp"),
    },
    "itglue": {
        "customer": ("organization", "organization_name"),
        "system": ("password_category", "password_category_name"),
        "name": ("name",),
        "username": ("username",),
        "password": ("password",),
        "url": ("url",),
        "notes": ("notes",),
        "otp": ("otp_secret",),
    },
}


def _norm(header: str) -> str:
    return re.sub(r"[\s_\-]+", "", header.strip().lower())


def parse_columns(spec: str | None) -> dict[str, tuple[str, ...]]:
    """`customer=Organization,system=Asset,...` as target -> (header,)."""
    out: dict[str, tuple[str, ...]] = {}
    for part in (spec or "").split(","):
        if not part.strip():
            continue
        target, sep, header = part.partition("=")
        target = target.strip().lower()
        if not sep or not target or not header.strip():
            raise UsageError(f"--columns expects TARGET=HEADER pairs, got {part[:60]!r}")
        if target not in META and target not in SECRET:
            target = field_name(target, "--columns")
        out[target] = (header.strip(),)
    return out


def _decode(data: bytes, file: Path, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UsageError(
            f"{file}:{line}: not valid {encoding} (convert the file, or pass --encoding)"
        ) from None
    except LookupError:
        raise UsageError(f"unknown encoding {encoding!r}") from None


def _read(path: str | os.PathLike[str]) -> tuple[Path, bytes]:
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"no such file: {file}")
    return file, file.read_bytes()


def read_csv(
    path: str | os.PathLike[str],
    rule: Rule,
    *,
    columns: str | None = None,
    preset: str | None = None,
    encoding: str = "utf-8-sig",
) -> Parsed:
    if preset == "bitwarden-json":
        return read_bitwarden_json(path, rule)
    if preset is not None and preset not in PRESETS:
        raise UsageError(f"unknown preset {preset!r} (one of {', '.join(sorted(PRESETS))})")
    explicit = parse_columns(columns)
    mapping = {**(PRESETS[preset] if preset else {}), **explicit}
    if not mapping:
        raise UsageError("give --columns or --preset")
    file, data = _read(path)
    # A cell may hold a secret field up to the size every write path allows; more
    # characters than that many bytes is surely too large (process-wide, never lowered).
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_BYTES + 1))
    # strict: a quote never closed is an error, not a value running to the end of the file
    reader = csv.reader(io.StringIO(_decode(data, file, encoding), newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise UsageError(f"{file}: empty file") from None
    except csv.Error as exc:
        raise UsageError(f"{file}:1: malformed CSV ({_csv_problem(exc)})") from None
    index = _resolve(mapping, set(explicit), header, file, rule)
    parsed = Parsed()
    line = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise UsageError(f"{file}:{line}: malformed CSV ({_csv_problem(exc)})") from None
        source = f"{file}:{line}"
        line = reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise UsageError(f"{source}: {len(row)} columns where the header has {len(header)}")
        _row_item(row, index, rule, source, parsed)
    return parsed.finish(rule)


def _csv_problem(exc: csv.Error) -> str:
    text = str(exc)[:80]
    if text.startswith("field larger than field limit"):
        return f"a cell is larger than {MAX_FIELD_BYTES // (1024 * 1024)} MiB"
    return "a quote is never closed" if text == "unexpected end of data" else text


def _resolve(
    mapping: dict[str, tuple[str, ...]],
    explicit: set[str],
    header: list[str],
    file: Path,
    rule: Rule,
) -> dict[str, int]:
    by_norm: dict[str, int] = {}
    for i, h in enumerate(header):
        if _norm(h) in by_norm:
            raise UsageError(f"{file}:1: the column {h[:60]!r} appears twice")
        by_norm[_norm(h)] = i
    index: dict[str, int] = {}
    for target, candidates in mapping.items():
        found = next((by_norm[_norm(c)] for c in candidates if _norm(c) in by_norm), None)
        if found is not None:
            index[target] = found
            if target == "system" and _norm(header[found]) == "collections":
                index["_collections"] = found  # Bitwarden: comma-separated, first wins
        elif target in explicit:
            raise UsageError(f"{file}:1: no column {candidates[0][:60]!r} for {target!r}")
    if "name" not in index and "username" not in index:
        raise UsageError(f"{file}:1: no column for the credential name")
    if "customer" not in index and rule.customer is None and not rule.map_groups:
        raise UsageError(f"{file}:1: no customer column: give --customer SLUG or --map groups")
    if not any(t not in META and not t.startswith("_") for t in index):
        raise UsageError(f"{file}:1: no column for a password or other secret field")
    return index


def _row_item(
    row: list[str], index: dict[str, int], rule: Rule, source: str, parsed: Parsed
) -> None:
    def cell(target: str) -> str | None:
        i = index.get(target)
        return row[i] if i is not None else None

    kind_of_row = (cell("_type") or "login").strip().lower()
    if kind_of_row not in ("login", "1"):
        parsed.skipped.append(f"{source}: a {kind_of_row[:20]!r} item, not a login; skipped")
        return
    secrets = {t: row[i] for t, i in index.items() if t not in META and not t.startswith("_")}
    if (extra := cell("_fields")) and extra.strip():
        for text in extra.splitlines():
            label, sep, value = text.partition(": ")
            if sep:
                secrets[field_name(label, source)] = value
    customer, system = cell("customer"), cell("system")
    if system and "_collections" in index:
        system = system.split(",")[0]
    if rule.map_groups and rule.customer is None and customer is None:
        customer, _, system = (system or "").strip().partition("/")
        system = system.replace("/", " - ")
    make_item(
        rule,
        source,
        customer=customer,
        system=system,
        name=cell("name"),
        secrets=secrets,
        username=cell("username"),
        url=cell("url"),
        notes=cell("notes"),
        kind=cell("kind"),
        host=cell("host"),
        parsed=parsed,
    )


# --- Bitwarden JSON ---------------------------------------------------------------------


def read_bitwarden_json(path: str | os.PathLike[str], rule: Rule) -> Parsed:
    """Bitwarden's unencrypted JSON export (personal or organization)."""
    file, data = _read(path)
    try:
        doc = json.loads(_decode(data, file, "utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise UsageError(f"{file}:{exc.lineno}: malformed JSON ({exc.msg})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise UsageError(f"{file}: not a Bitwarden JSON export (no 'items' list)")
    if doc.get("encrypted"):
        raise UsageError(f"{file}: an encrypted Bitwarden export; export unencrypted JSON")
    folders = _names(doc.get("folders"), file)
    collections = _names(doc.get("collections"), file)
    parsed = Parsed()
    for n, item in enumerate(doc["items"]):
        source = f"{file}: items[{n}]"
        if not isinstance(item, dict):
            raise UsageError(f"{source}: not an object")
        if item.get("type") != 1:
            parsed.skipped.append(f"{source}: not a login item; skipped")
            continue
        login = item.get("login") or {}
        if not isinstance(login, dict):
            raise UsageError(f"{source}: 'login' is not an object")
        uris = login.get("uris") or []
        secrets: dict[str, str | None] = {
            "password": _str(login.get("password"), source),
            "otp": _str(login.get("totp"), source),
        }
        for f in item.get("fields") or []:
            if isinstance(f, dict) and f.get("type") in (0, 1) and f.get("name"):
                secrets[field_name(_str(f["name"], source) or "", source)] = _str(
                    f.get("value"), source
                )
        ids = item.get("collectionIds") or []
        system = folders.get(item.get("folderId")) or (
            collections.get(ids[0]) if isinstance(ids, list) and ids else None
        )
        customer = None
        if rule.map_groups and rule.customer is None:
            customer, _, rest = (system or "").partition("/")
            system = rest.replace("/", " - ")
        uri = uris[0].get("uri") if uris and isinstance(uris[0], dict) else None
        make_item(
            rule,
            source,
            customer=customer,
            system=system,
            name=_str(item.get("name"), source),
            secrets=secrets,
            username=_str(login.get("username"), source),
            url=_str(uri, source),
            notes=_str(item.get("notes"), source),
            parsed=parsed,
        )
    return parsed.finish(rule)


def _str(value: Any, source: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise UsageError(f"{source}: expected text, found {type(value).__name__}")


def _names(entries: Any, file: Path) -> dict[Any, str]:
    if entries is None:
        return {}
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise UsageError(f"{file}: malformed folders or collections")
    return {e.get("id"): _str(e.get("name"), str(file)) or "" for e in entries}
