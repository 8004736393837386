"""Anomaly flags over access events: `AlertPolicy` (the thresholds) and the detector.

Pure over events (`EventInfo`, oldest first): which events a reader may see is for the
service to decide (service/access_log.py). The kinds of flag and what raises each are in
docs/audit-format.md, "Alerts".
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..records import AlertInfo, EventInfo
from ..userconfig import section
from .report import REVEAL_ACTIONS

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class AlertPolicy:
    """Thresholds for anomaly flags (docs/audit-format.md, "Alerts")."""

    burst_count: int = 20  # more than this many reveals ...
    burst_minutes: int = 10  # ... within this many minutes
    baseline_days: int = 30  # "usual" customers: revealed in this many days before
    work_start: int = 7  # working hours, local time, [start, end)
    work_end: int = 19
    work_days: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0
    timezone: str = "UTC"
    denied_count: int = 3  # this many denied or failed attempts ...
    denied_minutes: int = 15  # ... within this many minutes

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> AlertPolicy:
        """From a config section; unknown keys are refused."""
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise UsageError(f"unknown alert settings: {', '.join(sorted(unknown))}")
        policy = replace(cls(), **values)
        policy.zone()
        return policy

    @classmethod
    def configured(cls) -> AlertPolicy:
        """The built-in thresholds changed by the `[alerts]` table of config.toml
        (`custodian.userconfig`): what `log alerts`, `log report` and the TUI start from."""
        table, where = section("alerts")
        return cls().with_settings(table, lambda key: f"{where} {key}")

    def with_settings(self, values: dict[str, Any], name: Callable[[str], str]) -> AlertPolicy:
        """This policy changed by user-facing settings: `config.toml`'s `[alerts]` or the
        CLI's options, which share their names (`SETTINGS`). `name(key)` names a setting in
        messages. Unknown keys and ill-typed values are refused."""
        unknown = set(values) - set(SETTINGS)
        if unknown:
            raise UsageError(f"unknown alert settings: {', '.join(map(name, sorted(unknown)))}")
        changes: dict[str, Any] = {}
        for key, value in values.items():
            if key == "work_hours":
                changes["work_start"], changes["work_end"] = _hours(value, name(key))
            elif key == "work_days":
                changes["work_days"] = _days(value, name(key))
            elif key == "timezone":
                changes[key] = value if isinstance(value, str) else ""
            elif type(value) is not int or value < 1:
                raise UsageError(f"{name(key)} takes a whole number of at least 1")
            else:
                changes[key] = value
        policy = replace(self, **changes)
        try:
            policy.zone()
        except UsageError as exc:
            raise UsageError(f"{name('timezone')}: {exc}") from None
        return policy

    def history_from(self, since: datetime | None) -> datetime | None:
        """Where the events to flag from `since` on begin: `baseline_days` earlier, which
        tell each technician's usual customers."""
        return since - timedelta(days=self.baseline_days) if since else None

    def zone(self) -> ZoneInfo:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise UsageError(f"unknown time zone {self.timezone[:64]!r}") from None


SETTINGS = (
    "burst_count",
    "burst_minutes",
    "baseline_days",
    "work_hours",
    "work_days",
    "timezone",
    "denied_count",
    "denied_minutes",
)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _hours(value: object, name: str) -> tuple[int, int]:
    """`07-19`: working hours [start, end), local time."""
    try:
        start, end = (int(h) for h in str(value).split("-"))
    except ValueError:
        raise UsageError(f"{name} takes START-END, such as 07-19") from None
    if not isinstance(value, str) or not 0 <= start < end <= 24:
        raise UsageError(f"{name} takes START-END with 0 <= START < END <= 24")
    return start, end


def _days(value: object, name: str) -> tuple[int, ...]:
    """`mon-fri` (a range), `mon,tue,sat` or a list of day names: Monday = 0."""
    items = value if isinstance(value, list) else str(value).split(",")
    try:
        if isinstance(value, str) and "-" in value:
            first, last = (DAYS.index(d.strip().lower()) for d in value.split("-"))
            days = tuple(range(first, last + 1))
        else:
            days = tuple(sorted({DAYS.index(str(d).strip().lower()) for d in items}))
    except ValueError:
        days = ()
    if not days or not isinstance(value, (str, list)):
        raise UsageError(f"{name} takes a range such as mon-fri or a list such as mon,tue,sat")
    return days


def find_alerts(
    events: Iterable[EventInfo], policy: AlertPolicy, since: datetime | None
) -> list[AlertInfo]:
    """The anomalies at or after `since` among `events` (oldest first), which should begin
    at `policy.history_from(since)`."""
    detector = _Detector(policy, since)
    for e in events:
        detector.feed(e)
    return detector.found


@dataclass
class _Detector:
    """Streams events in order and flags anomalies at or after `since`."""

    policy: AlertPolicy
    since: datetime | None
    found: list[AlertInfo] = field(default_factory=list)
    _denials: dict[str, deque[datetime]] = field(default_factory=lambda: defaultdict(deque))
    _seen: dict[str, dict[str, datetime]] = field(default_factory=lambda: defaultdict(dict))
    _quiet_until: dict[tuple[str, str], datetime] = field(default_factory=dict)
    _burst_customers: dict[str, deque[tuple[datetime, str | None]]] = field(
        default_factory=lambda: defaultdict(deque)
    )

    def __post_init__(self) -> None:
        self._zone = self.policy.zone()

    def feed(self, e: EventInfo) -> None:
        live = self.since is None or e.at >= self.since
        if e.action in REVEAL_ACTIONS and e.outcome == "ok":
            if live:
                self._burst(e)
                self._unusual(e)
                self._off_hours(e)
            if e.customer:
                self._seen[e.actor][e.customer] = e.at
        elif live and (e.outcome == "denied" or (e.action, e.outcome) == ("unlock", "failed")):
            self._denied(e)

    def _flag(
        self,
        kind: str,
        e: EventInfo,
        count: int,
        detail: str,
        quiet: timedelta,
        customer: str | None,
    ) -> None:
        key = (kind, e.actor)
        if key in self._quiet_until and e.at < self._quiet_until[key]:
            return
        self._quiet_until[key] = e.at + quiet
        self.found.append(AlertInfo(kind, e.actor, e.at, customer, count, detail))

    def _burst(self, e: EventInfo) -> None:
        p = self.policy
        window = timedelta(minutes=p.burst_minutes)
        times = self._burst_customers[e.actor]
        times.append((e.at, e.customer))
        while times and times[0][0] <= e.at - window:
            times.popleft()
        if len(times) > p.burst_count:
            customers = {c for _, c in times}
            self._flag(
                "burst",
                e,
                len(times),
                f"{len(times)} reveals within {p.burst_minutes} min",
                window,
                customers.pop() if len(customers) == 1 else None,
            )

    def _unusual(self, e: EventInfo) -> None:
        if not e.customer:
            return
        horizon = e.at - timedelta(days=self.policy.baseline_days)
        usual = {c for c, t in self._seen[e.actor].items() if t >= horizon}
        if usual and e.customer not in usual:
            self._quiet_until.pop(("unusual-customer", e.actor), None)
            self._flag(
                "unusual-customer",
                e,
                1,
                f"no reveal of {e.customer} in the previous {self.policy.baseline_days}"
                f" days (usual: {', '.join(sorted(usual))})",
                timedelta(0),
                e.customer,
            )

    def _off_hours(self, e: EventInfo) -> None:
        p = self.policy
        local = e.at.astimezone(self._zone)
        if local.weekday() in p.work_days and p.work_start <= local.hour < p.work_end:
            return
        self._quiet_until.pop(("off-hours", e.actor), None)
        self._flag(
            "off-hours",
            e,
            1,
            f"at {local:%a %H:%M} {p.timezone}, outside {p.work_start:02d}-{p.work_end:02d}",
            timedelta(0),
            e.customer,
        )

    def _denied(self, e: EventInfo) -> None:
        p = self.policy
        window = timedelta(minutes=p.denied_minutes)
        times = self._denials[e.actor]
        times.append(e.at)
        while times and times[0] <= e.at - window:
            times.popleft()
        if len(times) >= p.denied_count:
            self._flag(
                "denied-attempts",
                e,
                len(times),
                f"{len(times)} denied or failed attempts within {p.denied_minutes} min",
                window,
                None,
            )
