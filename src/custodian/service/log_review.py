"""Reading the access log: filters, the customer report, anomaly alerts, verification,
checkpoints and hardening. `LogReview` is a mixin of `ActorSession`.

Admins and auditors read the whole log; a technician reads only their own events.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select
from sqlalchemy.sql import Select

from ..clock import as_utc
from ..db.models import AccessEvent, Customer, LogHead, Role
from ..errors import IntegrityError, UsageError
from ..records import (
    AccessReport,
    AlertInfo,
    CheckpointInfo,
    CredentialUse,
    EventInfo,
    LogVerification,
    TechnicianTotal,
)

if TYPE_CHECKING:
    from contextlib import AbstractContextManager
    from zoneinfo import ZoneInfo

    from sqlmodel import Session

    from ..crypto import SigningKey
    from ..errors import CustodianError
    from .vault import Custodian

READERS = (Role.ADMIN, Role.AUDITOR)
REVEAL_ACTIONS = ("reveal", "copy", "export")  # events that hand out a secret value
BATCH = 2000

_ev = AccessEvent.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class EventFilter:
    """What `log` narrows the events to. Every field is optional."""

    customer: str | None = None
    technician: str | None = None
    credential: str | None = None  # a path SLUG/SYSTEM/NAME (any field of it)
    actions: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    reason: str | None = None  # substring, case-insensitive
    after: int | None = None  # only events with a greater sequence number


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
        from ..userconfig import section

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


class LogReview:
    """The access-log methods of `ActorSession`."""

    if TYPE_CHECKING:
        _vault: Custodian
        _signer: SigningKey
        technician_id: int
        username: str
        role: Role

        @property
        def _now(self) -> datetime: ...
        def _tx(self) -> AbstractContextManager[Session]: ...
        def _record(self, tx: Session, action: str, outcome: str = "ok", **f: object) -> None: ...
        def _require_role(self, action: str, *roles: Role) -> None: ...
        def _customer(self, tx: Session, slug: str, action: str) -> Customer: ...
        def _refuse(self, exc: CustodianError, action: str, outcome: str, **f: object) -> None: ...

    # --- events -------------------------------------------------------------------------

    def events(
        self,
        *,
        customer: str | None = None,
        technician: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
        until: datetime | None = None,
        credential: str | None = None,
        actions: tuple[str, ...] = (),
        outcomes: tuple[str, ...] = (),
        reason: str | None = None,
        after: int | None = None,
    ) -> list[EventInfo]:
        """Access events, oldest first; `limit` keeps the newest N. Technicians see only
        their own."""
        flt = EventFilter(
            customer,
            technician,
            credential,
            tuple(actions),
            tuple(outcomes),
            since,
            until,
            reason,
            after,
        )
        if limit is None:
            return list(self.iter_events(flt))
        with self._tx() as tx:
            query = self._query(tx, flt).order_by(_ev.c.seq.desc()).limit(limit)
            rows = list(tx.execute(query).all())
            slugs = _slugs(tx)
        rows.sort(key=lambda r: r.seq)
        return [_info(r, slugs) for r in rows]

    def iter_events(self, flt: EventFilter = EventFilter()) -> Iterator[EventInfo]:
        """Every matching event, oldest first, fetched in batches (constant memory)."""
        after = flt.after or 0
        while True:
            with self._tx() as tx:
                query = self._query(tx, replace(flt, after=after))
                rows = tx.execute(query.order_by(_ev.c.seq).limit(BATCH)).all()
                slugs = _slugs(tx)
            for row in rows:
                yield _info(row, slugs)
            if len(rows) < BATCH:
                return
            after = rows[-1].seq

    def _query(self, tx: Session, flt: EventFilter) -> Select[Any]:
        query = select(_ev)
        if self.role not in READERS:
            query = query.where(_ev.c.actor_id == self.technician_id)
        if flt.customer is not None:
            query = query.where(_ev.c.customer_id == self._customer(tx, flt.customer, "log").id)
        if flt.technician is not None:
            query = query.where(
                or_(
                    _ev.c.actor == flt.technician,
                    _ev.c.target.startswith(f"{flt.technician}@", autoescape=True),
                )
            )
        if flt.credential is not None:
            query = query.where(
                or_(
                    _ev.c.target == flt.credential,
                    _ev.c.target.startswith(f"{flt.credential}#", autoescape=True),
                )
            )
        if flt.actions:
            query = query.where(_ev.c.action.in_(flt.actions))
        if flt.outcomes:
            query = query.where(_ev.c.outcome.in_(flt.outcomes))
        if flt.since is not None:
            query = query.where(_ev.c.at >= flt.since)
        if flt.until is not None:
            query = query.where(_ev.c.at < flt.until)
        if flt.reason:
            query = query.where(
                func.lower(_ev.c.reason).contains(flt.reason.lower(), autoescape=True)
            )
        if flt.after:
            query = query.where(_ev.c.seq > flt.after)
        return query

    def last_seq(self) -> int:
        """The log head's sequence number (where `log --follow` starts)."""
        with self._tx() as tx:
            return int(tx.execute(select(LogHead.__table__.c.seq)).scalar_one())  # type: ignore[attr-defined]

    # --- report and alerts ---------------------------------------------------------------

    def report(
        self,
        customer: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        policy: AlertPolicy | None = None,
    ) -> AccessReport:
        """Per credential: who revealed it, how often, when last, why; per technician:
        totals; and the anomalies that concern this customer."""
        self._require_role("log-report", *READERS)
        with self._tx() as tx:
            cust = self._customer(tx, customer, "log-report")
        flt = EventFilter(customer=customer, since=since, until=until)
        uses: dict[tuple[str, str], dict[str, Any]] = {}
        totals: dict[str, dict[str, Any]] = {}
        for e in self.iter_events(flt):
            if e.action not in REVEAL_ACTIONS or e.outcome not in ("ok", "denied"):
                continue
            path = (e.target or "?").split("#", 1)[0]
            use = uses.setdefault(
                (path, e.actor), {"ok": 0, "denied": 0, "last": None, "reasons": []}
            )
            tot = totals.setdefault(e.actor, {"ok": 0, "denied": 0, "paths": set(), "last": None})
            if e.outcome == "ok":
                use["ok"] += 1
                tot["ok"] += 1
                use["last"] = tot["last"] = e.at
                tot["paths"].add(path)
                if e.reason and e.reason not in use["reasons"]:
                    use["reasons"].append(e.reason)
            else:
                use["denied"] += 1
                tot["denied"] += 1
        alerts = [
            a
            for a in self.alerts(since=since, until=until, policy=policy, record=False)
            if a.customer == cust.slug or (a.customer is None and a.technician in totals)
        ]
        with self._tx() as tx:
            self._record(tx, "log-report", customer_id=cust.id, target=cust.slug)
        return AccessReport(
            cust.slug,
            cust.name,
            since,
            until,
            tuple(
                CredentialUse(p, t, u["ok"], u["denied"], u["last"], tuple(u["reasons"]))
                for (p, t), u in sorted(uses.items())
            ),
            tuple(
                TechnicianTotal(t, v["ok"], v["denied"], len(v["paths"]), v["last"])
                for t, v in sorted(totals.items())
            ),
            tuple(alerts),
        )

    def alerts(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        policy: AlertPolicy | None = None,
        record: bool = True,
    ) -> list[AlertInfo]:
        """Anomalies among the events in [since, until) (docs/audit-format.md, "Alerts")."""
        self._require_role("log-alerts", *READERS)
        policy = policy or AlertPolicy()
        detector = _Detector(policy, since)
        start = since - timedelta(days=policy.baseline_days) if since else None
        flt = EventFilter(since=start, until=until)
        for e in self.iter_events(flt):
            detector.feed(e)
        if record:
            with self._tx() as tx:
                self._record(tx, "log-alerts", detail={"alerts": len(detector.found)})
        return detector.found

    # --- verification, checkpoints, hardening ----------------------------------------------

    def verify_log(
        self,
        *,
        checkpoint_text: str | None = None,
        workers: int | None = None,
        progress: Any = None,
        incremental: bool = False,
        every_signature: bool = False,
    ) -> LogVerification:
        """Verify the whole log (and checkpoints); the run itself is recorded as an event.
        Failing verification is returned, not raised: the CLI maps it to exit 6.
        `incremental`: trust the signatures up to the newest checkpoint (its hash pins them).
        `every_signature`: check each event's signature, not only each actor's newest."""
        self._require_role("log-verify", *READERS)
        result = self._verify(checkpoint_text, workers, progress, incremental, every_signature)
        detail: dict[str, object] = {"through": result.head_seq, "checkpoints": result.checkpoints}
        if every_signature:
            detail["every_signature"] = True
        if result.trusted_through:
            detail["trusted_through"] = result.trusted_through
        if not result.ok:
            detail.update(first_bad=result.first_bad, problem=result.problem)
        try:
            with self._tx() as tx:
                self._record(tx, "log-verify", "ok" if result.ok else "integrity", detail=detail)
        except IntegrityError as exc:
            if result.ok:
                raise
            # A damaged log may hold an event forged in this auditor's name, which their
            # session refuses to sign over: the failing result still reaches them.
            return replace(result, warnings=(*result.warnings, f"not recorded: {exc}"))
        return result

    def _verify(
        self,
        checkpoint_text: str | None,
        workers: int | None,
        progress: Any,
        incremental: bool,
        every_signature: bool = False,
    ) -> LogVerification:
        from ..audit.checkpoint import read_checkpoints
        from ..audit.verify import verify_log

        checkpoints = read_checkpoints(checkpoint_text) if checkpoint_text is not None else []
        result = verify_log(
            self._vault.db.engine,
            vault_id=self._vault.vault_id(),
            checkpoints=checkpoints,
            workers=workers,
            progress=progress,
            incremental=incremental,
            every_signature=every_signature,
        )
        if incremental and not result.ok and (result.first_bad or 0) <= result.trusted_through:
            # the trusted prefix changed: check every signature to find the first bad event
            return self._verify(checkpoint_text, workers, progress, False, True)
        return result

    def checkpoint(
        self, *, previous: str | None = None, workers: int | None = None, progress: Any = None
    ) -> CheckpointInfo:
        """Verify the log, then sign a line naming the head it verified, to keep outside
        the database. `previous`: earlier checkpoint lines; signatures up to the newest
        are not checked again. The event recording the checkpoint follows its head."""
        from ..audit.checkpoint import Checkpoint

        self._require_role("log-checkpoint", *READERS)
        result = self._verify(previous, workers, progress, previous is not None)
        if not result.ok:
            raise IntegrityError(
                f"no checkpoint: the log fails to verify at seq"
                f" {result.first_bad}: {result.problem}"
            )
        cp = Checkpoint.make(
            self._vault.vault_id(),
            result.head_seq,
            bytes.fromhex(result.head_hash),
            self._now,
            self.username,
            self._signer,
        )
        with self._tx() as tx:
            self._record(tx, "log-checkpoint", detail={"seq": cp.seq, "head": cp.head.hex()})
        return cp.info()

    def harden_database(self, app_roles: list[str]) -> list[str]:
        """Make access_event append-only in the database (`custodian db harden`)."""
        from ..audit.harden import harden

        self._require_role("db-harden", Role.ADMIN)
        with self._tx() as tx:
            done = harden(tx.connection(), app_roles)
            self._record(tx, "db-harden", detail={"roles": list(app_roles)})
        return done


# --- helpers ------------------------------------------------------------------------------


def _slugs(tx: Session) -> dict[int, str]:
    c = Customer.__table__  # type: ignore[attr-defined]
    return dict(tx.execute(select(c.c.id, c.c.slug)).all())


def _info(row: Any, slugs: dict[int, str]) -> EventInfo:
    return EventInfo(
        row.seq,
        as_utc(row.at),
        row.actor,
        row.action,
        row.outcome,
        row.target,
        row.reason,
        row.detail,
        slugs.get(row.customer_id) if row.customer_id is not None else None,
    )


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
