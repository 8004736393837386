"""Terminal input and output: hidden prompts, stdin secrets, tables and JSON."""

from __future__ import annotations

import csv
import getpass
import io
import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from .. import MAX_FIELD_BYTES, SecretPayload, SessionLocked, UsageError

PASSPHRASE_ENV = "CUSTODIAN_PASSPHRASE"  # noqa: S105 (a variable name)
ATTEMPTS = 3  # tries at typing a new secret twice alike
TEXT_LIMIT = 1024 * 1024  # a passphrase, a recovery code: what stdin may hold at most
# A secret field is read up to the most any vault's field limit may be, and the service
# checks the vault's own limit on the write (the CLI may be a client of a server).
JSON_LIMIT = 2 * MAX_FIELD_BYTES  # --fields-json: escaping can double a value


def say(message: str) -> None:
    """A message for people: always stderr, so stdout stays clean for scripts."""
    print(message, file=sys.stderr)


def _tty_prompt(prompt: str) -> str | None:
    if not sys.stdin.isatty():
        try:
            with open("/dev/tty"):
                pass
        except OSError:
            return None
    return getpass.getpass(prompt)


def acting_passphrase(username: str) -> str:
    value = os.environ.get(PASSPHRASE_ENV)
    if value:
        return value
    # On the terminal even when stdin is piped (`echo secret | custodian cred set ...`).
    value = _tty_prompt(f"Passphrase for {username}: ")
    if not value:
        raise SessionLocked(
            f"locked: no passphrase for {username!r} (run `custodian unlock`, or set"
            f" {PASSPHRASE_ENV} for automation)"
        )
    return value


def unlock_passphrase(username: str) -> str:
    """`unlock`'s passphrase: like `acting_passphrase`, but piped stdin comes first
    (`echo PASS | custodian unlock`): unlock reads nothing else from stdin."""
    value = os.environ.get(PASSPHRASE_ENV)
    if value:
        return value
    if not sys.stdin.isatty():
        piped = sys.stdin.readline().rstrip("\r\n")
        if piped:
            return piped
    return acting_passphrase(username)


def read_new_secret(what: str, *, confirm: bool = True, limit: int = TEXT_LIMIT) -> str:
    """A new secret value: from stdin when piped (at most `limit` bytes), otherwise from
    a hidden prompt (twice)."""
    if not sys.stdin.isatty():
        data = read_stdin_text(what, limit)
        value = data[:-1] if data.endswith("\n") else data
        if value.endswith("\r"):
            value = value[:-1]
        if not value:
            raise UsageError(f"the {what} read from stdin is empty")
        return value
    for attempt in range(1, ATTEMPTS + 1):
        value = getpass.getpass(f"{what.capitalize()}: ")
        if not value:
            raise UsageError(f"the {what} is empty")
        if not confirm or getpass.getpass(f"Repeat {what}: ") == value:
            return value
        if attempt < ATTEMPTS:
            say(f"the two entries of the {what} differ; try again")
    raise UsageError(f"the two entries of the {what} differed {ATTEMPTS} times")


def read_stdin_text(what: str, limit: int) -> str:
    """Piped stdin as UTF-8 text of at most `limit` bytes and a final line break, read
    no further than that: a 100 MB paste is refused, not held in memory."""
    raw = getattr(sys.stdin, "buffer", None)  # a text stream stands in (tests, the demo)
    data: bytes
    if raw is not None:
        data = raw.read(limit + 3)
    else:
        data = sys.stdin.read(limit + 3).encode("utf-8", "surrogateescape")
    if len(data) > limit + 2:
        too_large = BEYOND_ANY_VAULT if limit == MAX_FIELD_BYTES else size_text(limit)
        raise UsageError(f"the {what} read from stdin is larger than {too_large}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(
            f"the {what} read from stdin is not UTF-8 text (store binary data with --file)"
        ) from None


def size_text(limit: int) -> str:
    for unit, size in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if limit >= size and limit % size == 0:
            return f"{limit // size} {unit}"
    return f"{limit} bytes"


BEYOND_ANY_VAULT = f"{size_text(MAX_FIELD_BYTES)}, the most any vault's field limit allows"


def read_payload(field: str, fields_json: bool) -> SecretPayload:
    """The fields `cred add|set` write; the service checks them against the vault's limit."""
    if not fields_json:
        return SecretPayload({field: read_new_secret(f"{field} value", limit=MAX_FIELD_BYTES)})
    if sys.stdin.isatty():
        raw = getpass.getpass("Fields as JSON: ")
    else:
        raw = read_stdin_text("JSON", JSON_LIMIT)
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        raise UsageError("--fields-json expects a JSON object on stdin") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise UsageError("--fields-json expects a JSON object of strings on stdin")
    return SecretPayload(data)


def emit(rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: str) -> None:
    """Print records on stdout as a table, JSON or CSV."""
    if fmt == "json":
        print(json.dumps(list(rows), indent=2, default=str))
        return
    if fmt == "ndjson":
        for row in rows:
            print(json.dumps(row, default=str))
        return
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_safe(_cell(row.get(k))) for k in columns})
        sys.stdout.write(buf.getvalue())
        return
    print_table([[_cell(r.get(c)) for c in columns] for r in rows], columns)


def print_table(rows: Iterable[Sequence[str]], headers: Sequence[str]) -> None:
    rows = list(rows)
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    line = "  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line.rstrip())
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _csv_safe(text: str) -> str:
    # A cell that a spreadsheet would run as a formula is prefixed with a quote.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
