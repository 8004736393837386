"""Writing a customer's handover: a KeePass KDBX 4 file and an optional JSON export.

The writers take the decrypted handover the service produced (`ActorSession.handover`),
described here by the shape they read (`HandoverData`), so this module knows no service.
Both are written to a temporary file beside the target, mode 0600, then renamed, so a
failure leaves no half-written file. An existing file is never overwritten.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from ..errors import UsageError
from ..secret import PRIMARY_FIELD, Secret, SecretPayload
from ..totp import SEED_FIELD, parse_seed

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
    """One group per system, one entry per credential; a TOTP seed becomes the entry's
    `otp` attribute as KeePassXC stores it (an `otpauth://` URI), a file field an
    attachment, the other extra fields (SSH key, enable secret) protected custom
    properties."""
    check_handover_passphrase(passphrase)
    with staged(path) as stage:
        fill_kdbx(handover, stage.tmp, passphrase)
        stage.publish()


def fill_kdbx(handover: HandoverData, tmp: Path, passphrase: str) -> None:
    """Write the KDBX to `tmp` (a `staged` file). A value a KDBX cannot hold is a
    `UsageError` naming the entry and field, never the value."""
    from pykeepass import create_database

    check_handover_passphrase(passphrase)
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
            where = f"{system.name}/{entry.name}"
            password = fields[PRIMARY_FIELD].reveal() if PRIMARY_FIELD in fields else ""
            with _unwritable(where, PRIMARY_FIELD):
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
                with _unwritable(where, name):
                    if fields[name].is_file:  # a KeePass attachment, named as the field
                        binary = kp.add_binary(fields[name].reveal_bytes(), protected=True)
                        item.add_attachment(binary, name)
                    elif name == SEED_FIELD:
                        item.otp = otpauth_uri(fields[name], handover.name, entry.name)
                    elif name != PRIMARY_FIELD:
                        item.set_custom_property(name, fields[name].reveal(), protect=True)
    kp.save()


def otpauth_uri(seed: Secret, issuer: str, account: str) -> str:
    """A stored seed (any form `totp.parse_seed` reads) as the `otpauth://totp/` URI
    KeePassXC keeps in an entry's `otp` attribute; a seed it cannot read goes as it is."""
    try:
        spec = parse_seed(seed.reveal())
    except UsageError:
        return seed.reveal()
    label = quote(f"{issuer}:{account}", safe="")
    secret = base64.b32encode(spec.key).decode().rstrip("=")
    return (
        f"otpauth://totp/{label}?secret={secret}&period={spec.period}&digits={spec.digits}"
        f"&issuer={quote(issuer, safe='')}&algorithm={spec.algorithm}"
    )


@contextmanager
def _unwritable(where: str, field: str) -> Iterator[None]:
    try:
        yield
    except ValueError:  # lxml: "All strings must be XML compatible"
        raise UsageError(
            f"{where}: the field {field!r} holds control characters, which a KDBX file"
            " cannot store; fix it with `custodian cred set` first"
        ) from None


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
                        "fields": {k: _plain(v) for k, v in sorted(e.fields.items())},
                    }
                    for e in s.entries
                ],
            }
            for s in handover.systems
        ],
    }


def _plain(value: Secret) -> str | dict[str, str]:
    """A field in the JSON handover: its text, or a file as {"file_base64": ...}."""
    if value.is_file:
        return {"file_base64": base64.b64encode(value.reveal_bytes()).decode("ascii")}
    return value.reveal()


def write_json(handover: HandoverData, path: Path) -> None:
    with staged(path) as stage:
        fill_json(handover, stage.tmp)
        stage.publish()


def fill_json(handover: HandoverData, tmp: Path) -> None:
    """Write the JSON export to `tmp` (a `staged` file)."""
    data = json.dumps(handover_json(handover), indent=2, ensure_ascii=False) + "\n"
    tmp.write_text(data, encoding="utf-8")


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


class Staged:
    """A handover being written: a private file (`tmp`, mode 0600) beside its target;
    `publish` puts it in place. Until then a failure leaves nothing behind."""

    def __init__(self, tmp: Path, path: Path) -> None:
        self.tmp, self.path = tmp, path

    def publish(self) -> None:
        os.chmod(self.tmp, 0o600)
        try:
            os.link(self.tmp, self.path)  # fails rather than replace a file created meanwhile
        except FileExistsError:
            raise UsageError(f"{self.path} already exists: choose another file") from None


@contextmanager
def staged(path: Path) -> Iterator[Staged]:
    """A `Staged` handover for `path` (checked first); its temporary file is removed on
    leaving, published or not."""
    check_handover_target(path)
    with _private_temp(path) as tmp:
        yield Staged(tmp, path)


@contextmanager
def _private_temp(path: Path) -> Iterator[Path]:
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)
