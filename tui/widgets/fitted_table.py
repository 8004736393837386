"""`FittedTable`: a DataTable whose columns size to their content and whose least
important columns drop out when the terminal is too narrow, so that what it shows is
never cut. The screen shows the dropped values elsewhere (a detail line or pane)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual.events import Resize
from textual.widgets import DataTable

Cell = str | Text


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    priority: int = 0  # 0: always shown; the highest number drops out first
    hide_empty: bool = False  # not shown while no row has a value in it


def width_of(cell: Cell) -> int:
    return cell_len(cell.plain if isinstance(cell, Text) else cell)


def fit(columns: Sequence[Column], widths: dict[str, int], available: int, pad: int) -> list[str]:
    """The keys of the columns to show, in declared order: every priority-0 column, then
    the others by priority while they fit whole. `widths` holds each column's widest
    value (0: empty); a column takes max(label, value) + padding on both sides."""
    used = 0
    chosen: set[str] = set()
    for col in sorted(columns, key=lambda c: c.priority):
        if col.hide_empty and not widths.get(col.key):
            continue
        need = max(cell_len(col.label), widths.get(col.key, 0)) + 2 * pad
        if col.priority == 0 or used + need <= available:
            chosen.add(col.key)
            used += need
    return [c.key for c in columns if c.key in chosen]


class FittedTable(DataTable[Cell]):
    DEFAULT_CSS = """
    FittedTable { overflow-x: hidden; }
    """

    def __init__(
        self, columns: Sequence[Column], *, id: str | None = None, zebra_stripes: bool = False
    ) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=zebra_stripes)
        self.spec = tuple(columns)
        self._rows_all: list[tuple[str, dict[str, Cell]]] = []
        self._value_widths: dict[str, int] = {}
        self.shown: list[str] = []

    @property
    def hidden(self) -> list[Column]:
        """Columns with values that the width leaves out (for a detail line)."""
        return [
            c
            for c in self.spec
            if c.key not in self.shown and not (c.hide_empty and not self._value_widths.get(c.key))
        ]

    def values(self, index: int) -> dict[str, Cell]:
        """Every column's value for the row at `index`, shown or not."""
        return self._rows_all[index][1]

    def values_of(self, column: str) -> list[Cell]:
        """One column's values in row order, shown or not."""
        return [cells.get(column, "") for _, cells in self._rows_all]

    def set_rows(self, rows: Iterable[tuple[str, dict[str, Cell]]]) -> None:
        self._rows_all, self._value_widths = [], {}
        self.clear()
        self.extend(rows)

    def extend(self, rows: Iterable[tuple[str, dict[str, Cell]]]) -> None:
        added = list(rows)
        for _, cells in added:
            for key, cell in cells.items():
                self._value_widths[key] = max(self._value_widths.get(key, 0), width_of(cell))
        self._rows_all.extend(added)
        if not self._refit():
            for key, cells in added:
                self.add_row(*(cells.get(k, "") for k in self.shown), key=key)

    def set_value(self, index: int, column: str, value: Cell) -> None:
        row_key, cells = self._rows_all[index]
        cells[column] = value
        self._value_widths[column] = max(self._value_widths.get(column, 0), width_of(value))
        if not self._refit() and column in self.shown:
            self.update_cell(row_key, column, value, update_width=True)

    def _available(self) -> int:
        width = self.size.width
        if len(self._rows_all) + 1 > self.size.height:  # a vertical scrollbar will take its share
            width -= self.styles.scrollbar_size_vertical
        return width

    def _refit(self) -> bool:
        """Rebuild the table when the columns that fit changed; True if it did."""
        shown = fit(self.spec, self._value_widths, self._available(), self.cell_padding)
        if shown == self.shown and self.columns:
            return False
        self.shown = shown
        cursor = self.cursor_row
        self.clear(columns=True)
        labels = {c.key: c.label for c in self.spec}
        for key in shown:
            self.add_column(labels[key], key=key)
        for row_key, cells in self._rows_all:
            self.add_row(*(cells.get(k, "") for k in shown), key=row_key)
        if self._rows_all:
            self.move_cursor(row=min(cursor, len(self._rows_all) - 1), animate=False)
        return True

    def on_resize(self, event: Resize) -> None:
        self._refit()
