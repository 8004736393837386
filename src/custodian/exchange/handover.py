"""Writing a customer's handover: a KeePass KDBX 4 file and an optional JSON export.

The writers take the decrypted handover the service produced (`ActorSession.handover`),
described here by the shape they read (`HandoverData`), so this module knows no service.
Both are written to a temporary file beside the target, mode 0600, then renamed, so a
failure leaves no half-written file. An existing file is never overwritten.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from ..errors import UsageError
from ..secret import PRIMARY_FIELD, SecretPayload

MIN_PASSPHRASE = 12  # a handover file leaves the MSP: longer than a technician's minimum


class HandoverEntry(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def username(self) -> str | None: ...
    @property
    def url(self) -> str | None: ...
    @property
    def notes(self) -> str | None: ...
    @property
    def fields(self) -> SecretPayload: ...


class HandoverSystem(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def host(self) -> str | None: ...
    @property
    def notes(self) -> str | None: ...
    @property
    def entries(self) -> Sequence[HandoverEntry]: ...


class HandoverData(Protocol):
    """What the writers read of a decrypted handover."""

    @property
    def slug(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def exported_at(self) -> datetime: ...
    @property
    def systems(self) -> Sequence[HandoverSystem]: ...


def write_kdbx(handover: HandoverData, path: Path, passphrase: str) -> None:
    """One group per system, one entry per credential; extra fields (TOTP seed, SSH key,
    enable secret) become protected custom properties."""
    from pykeepass import create_database

    check_handover_passphrase(passphrase)

    def write(tmp: Path) -> None:
        kp = create_database(str(tmp), password=passphrase)
        kp.root_group.name = f"{handover.name} ({handover.slug})"
        for system in handover.systems:
            about = [f"kind: {system.kind}"] + ([f"host: {system.host}"] if system.host else [])
            group = kp.add_group(
                kp.root_group,
                system.name,
                notes="\n".join(about + ([system.notes] if system.notes else [])),
            )
            for entry in system.entries:
                fields = entry.fields
                password = fields[PRIMARY_FIELD].reveal() if PRIMARY_FIELD in fields else ""
                item = kp.add_entry(
                    group,
                    entry.name,
                    entry.username or "",
                    password,
                    url=entry.url,
                    notes=entry.notes,
                    force_creation=True,
                )
                for name in sorted(fields):
                    if name != PRIMARY_FIELD:
                        item.set_custom_property(name, fields[name].reveal(), protect=True)
        kp.save()

    _atomic(path, write)


def handover_json(handover: HandoverData) -> dict[str, Any]:
    return {
        "customer": handover.slug,
        "name": handover.name,
        "exported_at": handover.exported_at.isoformat(),
        "systems": [
            {
                "name": s.name,
                "kind": s.kind,
                "host": s.host,
                "notes": s.notes,
                "credentials": [
                    {
                        "name": e.name,
                        "username": e.username,
                        "url": e.url,
                        "notes": e.notes,
                        "fields": {k: v.reveal() for k, v in sorted(e.fields.items())},
                    }
                    for e in s.entries
                ],
            }
            for s in handover.systems
        ],
    }


def write_json(handover: HandoverData, path: Path) -> None:
    data = json.dumps(handover_json(handover), indent=2, ensure_ascii=False) + "\n"

    def write(tmp: Path) -> None:
        tmp.write_text(data, encoding="utf-8")

    _atomic(path, write)


def check_handover_passphrase(passphrase: str) -> None:
    """A handover file's passphrase: at least `MIN_PASSPHRASE` characters."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise UsageError(f"a handover passphrase needs at least {MIN_PASSPHRASE} characters")


def check_handover_target(path: Path) -> None:
    """Refuse before anything is decrypted: the file exists, or its folder does not."""
    if path.exists():
        raise UsageError(f"{path} already exists: choose another file")
    if not path.parent.is_dir():
        raise UsageError(f"no directory {path.parent}")


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    check_handover_target(path)
    with _private_temp(path) as tmp:
        write(tmp)
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)  # fails rather than replace a file created meanwhile
        except FileExistsError:
            raise UsageError(f"{path} already exists: choose another file") from None


@contextmanager
def _private_temp(path: Path) -> Iterator[Path]:
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)
