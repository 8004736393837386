"""`ActivityChart`: reveals per day, stacked by technician or by customer, drawn in the
terminal with plotext (textual-plotext)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, timedelta

from textual_plotext import PlotextPlot

from custodian import EventInfo


def per_day(
    events: Iterable[EventInfo], *, by: str, first: date, last: date, top: int = 5
) -> tuple[list[str], dict[str, list[int]]]:
    """Days from `first` to `last` and, per technician or customer (`by`), the count of
    each day; beyond the `top` busiest, the rest is summed as "others"."""
    counts: Counter[tuple[str, date]] = Counter()
    totals: Counter[str] = Counter()
    for e in events:
        key = (e.actor if by == "technician" else e.customer) or "?"
        counts[(key, e.at.date())] += 1
        totals[key] += 1
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    keep = [k for k, _ in totals.most_common(top)]
    series = {k: [counts[(k, d)] for d in days] for k in sorted(keep)}
    rest = [k for k in totals if k not in keep]
    if rest:
        series["others"] = [sum(counts[(k, d)] for k in rest) for d in days]
    return [d.strftime("%m-%d") for d in days], series


class ActivityChart(PlotextPlot):
    DEFAULT_CSS = """
    ActivityChart {
        height: 12;
        border: round $primary 50%;
    }
    """

    def show(self, labels: list[str], series: dict[str, list[int]], title: str) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(title)
        if series:
            # textual-plotext's stub names it `label`; plotext's stacked_bar takes `labels`
            plt.stacked_bar(labels, list(series.values()), labels=list(series))  # type: ignore[call-arg]
        else:
            plt.bar(labels or ["-"], [0] * max(1, len(labels)))
        plt.xlabel("day (UTC)")
        self.refresh()
