"""How access events are printed: the columns, one event as a row, and a writer that
streams JSON arrays and CSV instead of building them in memory."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sys
from datetime import UTC, datetime
from typing import Any

from ._io import _cell, _csv_safe

EVENT_COLUMNS = [
    "seq",
    "at",
    "actor",
    "action",
    "outcome",
    "customer",
    "target",
    "reason",
    "detail",
]
# What people review in a table; --wide adds the rest (detail may hold key fingerprints).
TABLE_COLUMNS = ["at", "actor", "action", "outcome", "target", "reason"]


def columns_for(fmt: str, wide: bool) -> list[str]:
    return TABLE_COLUMNS if fmt == "table" and not wide else EVENT_COLUMNS


def event_row(event: Any, fmt: str) -> dict[str, Any]:
    """One event as printed: JSON formats carry `detail` as an object, not as JSON text."""
    row: dict[str, Any] = event.to_dict()
    if fmt in ("json", "ndjson") and isinstance(row.get("detail"), str):
        with contextlib.suppress(ValueError):  # not JSON: kept as the text it is
            row["detail"] = json.loads(row["detail"])
    elif fmt == "table" and row.get("at"):
        at = row["at"] if isinstance(row["at"], datetime) else datetime.fromisoformat(row["at"])
        row["at"] = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")  # to the second, UTC
    return row


class EventWriter:
    """Prints events as they come: JSON arrays and CSV are streamed, not built in memory."""

    def __init__(self, fmt: str, columns: list[str]) -> None:
        self.fmt, self.columns, self.count = fmt, columns, 0

    def start(self) -> None:
        if self.fmt == "json":
            sys.stdout.write("[")
        elif self.fmt == "csv":
            self._csv(list(self.columns))

    def row(self, row: dict[str, Any]) -> None:
        if self.fmt == "json":
            sys.stdout.write(("," if self.count else "") + "\n  " + json.dumps(row, default=str))
        elif self.fmt == "ndjson":
            sys.stdout.write(json.dumps(row, default=str) + "\n")
        elif self.fmt == "csv":
            self._csv([_csv_safe(_cell(row.get(c))) for c in self.columns])
        else:
            sys.stdout.write("  ".join(_cell(row.get(c)) for c in self.columns) + "\n")
        self.count += 1
        sys.stdout.flush()

    def end(self) -> None:
        if self.fmt == "json":
            sys.stdout.write("\n]\n" if self.count else "]\n")

    def _csv(self, cells: list[str]) -> None:
        buf = io.StringIO()
        csv.writer(buf).writerow(cells)
        sys.stdout.write(buf.getvalue())
