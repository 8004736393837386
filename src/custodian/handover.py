"""Writing a customer's handover: a KeePass KDBX 4 file and an optional JSON export.

Both are written to a temporary file beside the target, mode 0600, then renamed, so a
failure leaves no half-written file. An existing file is never overwritten.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import UsageError
from .secret import PRIMARY_FIELD

if TYPE_CHECKING:
    from .service import ActorSession
    from .service.offboarding_records import Handover

MIN_PASSPHRASE = 12


def hand_over(actor: ActorSession, slug: str, path: Path, passphrase: str) -> Handover:
    """`slug`'s handover written to `path` as KDBX 4: the target and the passphrase are
    checked before anything is decrypted, then the service's `handover` (one `export`
    event, needs a grant) is written. The CLI's `offboard --handover` and the TUI's
    offboarding wizard both call this."""
    check_target(path)
    check_passphrase(passphrase)
    data = actor.handover(slug)
    write_kdbx(data, path, passphrase)
    return data


def write_kdbx(handover: Handover, path: Path, passphrase: str) -> None:
    """One group per system, one entry per credential; extra fields (TOTP seed, SSH key,
    enable secret) become protected custom properties."""
    from pykeepass import create_database

    check_passphrase(passphrase)

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


def handover_json(handover: Handover) -> dict[str, Any]:
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


def write_json(handover: Handover, path: Path) -> None:
    data = json.dumps(handover_json(handover), indent=2, ensure_ascii=False) + "\n"

    def write(tmp: Path) -> None:
        tmp.write_text(data, encoding="utf-8")

    _atomic(path, write)


def check_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise UsageError(f"a handover passphrase needs at least {MIN_PASSPHRASE} characters")


def check_target(path: Path) -> None:
    """Refuse before anything is decrypted: the file exists, or its folder does not."""
    if path.exists():
        raise UsageError(f"{path} already exists: choose another file")
    if not path.parent.is_dir():
        raise UsageError(f"no directory {path.parent}")


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    check_target(path)
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
