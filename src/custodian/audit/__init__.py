"""The access log itself: one hash-chained, signed, append-only sequence of events.

- `append.py`: appending an event (the chain hash, the actor's signature, the log head),
  the canonical encoding, and `key_binding` (a technician's signing key, bound in the log).
- `verify.py`: verifying the whole log, on a process pool for a large one; `scan.py`
  scans one range of it; `checkpoint.py`: signed checkpoint lines kept outside the database.
- `query.py`: `EventFilter` and the event query built from it; rows -> `EventInfo`.
- `alerts.py`: `AlertPolicy` and the anomaly flags; `report.py`: a customer report's
  tallies. Both pure over events.
- `harden.py`: making the event table append-only in the database (`custodian db harden`).

Nothing here decides who may read or write the log: the service does
(`service/access_log.py`, `service/actor.py`) and calls in here. This package sits below
the service: it may import `custodian.db`, `crypto`, `errors`, `records`, `clock`, `paths`
and `userconfig` (the `[alerts]` table of config.toml), never `custodian.service`, the CLI
or the TUI.
docs/audit-format.md describes the format and what verification detects.
"""
