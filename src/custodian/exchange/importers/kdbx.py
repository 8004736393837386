"""KeePass databases (KDBX 3.1 and 4), read with pykeepass.

Groups map to customers and systems by the `Rule`: with `--customer SLUG` the groups
below the root name the system (`Servers/DC01` -> system `Servers - DC01`); with
`--map groups` the top group names the customer and the groups below it the system.
Entries give the credential name (title), username, URL, notes, and the secret fields:
`password`, `otp` (KeePassXC's `otp` attribute, or KeePass 2's `TimeOtp-*` fields) and
every other custom string field under its label made a field name; attachments become
file fields named after their file names. The recycle bin is not imported.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import AuthenticationFailed, UsageError
from ._common import Parsed, Rule, field_name, make_item

if TYPE_CHECKING:
    from pykeepass.entry import Entry  # untyped: Any to mypy

_TIMEOTP = "TimeOtp-Secret-Base32"


def read_kdbx(
    path: str | os.PathLike[str],
    passphrase: str | None,
    rule: Rule,
    *,
    keyfile: str | os.PathLike[str] | None = None,
) -> Parsed:
    from pykeepass import PyKeePass
    from pykeepass.exceptions import CredentialsError

    file = Path(path)
    if not file.is_file():
        raise UsageError(f"no such file: {file}")
    if keyfile is not None and not Path(keyfile).is_file():
        raise UsageError(f"no such key file: {keyfile}")
    try:
        kp = PyKeePass(
            os.fspath(file),
            password=passphrase or None,
            keyfile=os.fspath(keyfile) if keyfile else None,
        )
    except CredentialsError:
        raise AuthenticationFailed(f"{file}: wrong passphrase or key file") from None
    except Exception as exc:  # pykeepass raises construct's and lxml's errors for bad files
        raise UsageError(
            f"{file}: not a readable KeePass database ({type(exc).__name__})"
        ) from None
    parsed = Parsed()
    bin_path = tuple(kp.recyclebin_group.path) if kp.recyclebin_group is not None else None
    for entry in kp.entries:
        groups = tuple(g for g in (entry.group.path or []) if g is not None)
        if bin_path and groups[: len(bin_path)] == bin_path:
            continue
        source = f"{file}: entry {'/'.join((*groups, entry.title or '?'))[:200]!r}"
        if rule.customer is None and rule.map_groups:
            if not groups:
                parsed.skipped.append(f"{source}: at the root, outside any customer group; skipped")
                continue
            customer, system_groups = groups[0], groups[1:]
        else:
            customer, system_groups = None, groups
        make_item(
            rule,
            source,
            customer=customer,
            system=" - ".join(system_groups) or None,
            name=entry.title,
            secrets=_secrets(entry, source),
            files=_attachments(entry, source),
            username=entry.username,
            url=entry.url,
            notes=entry.notes,
            parsed=parsed,
        )
    return parsed.finish(rule)


def _secrets(entry: Entry, source: str) -> dict[str, str | None]:
    custom = dict(entry.custom_properties)
    out: dict[str, str | None] = {"password": entry.password, "otp": entry.otp}
    if not out["otp"] and custom.get(_TIMEOTP):
        period = custom.get("TimeOtp-Period") or "30"
        digits = custom.get("TimeOtp-Length") or "6"
        algorithm = (custom.get("TimeOtp-Algorithm") or "HMAC-SHA-1").replace("HMAC-", "")
        out["otp"] = (
            f"otpauth://totp/import?secret={custom[_TIMEOTP]}&period={period}&digits={digits}"
            f"&algorithm={algorithm.replace('-', '')}"
        )
    for label, value in custom.items():
        if label.startswith("TimeOtp-") or label == "otp":
            continue
        name = field_name(label, source)
        if name in out:
            raise UsageError(f"{source}: two custom fields are both named {name!r}")
        out[name] = value
    return out


def _attachments(entry: Entry, source: str) -> dict[str, bytes]:
    """Attachments as file fields, named after their file names (`id_rsa`, `vpn.ovpn`)."""
    out: dict[str, bytes] = {}
    for attachment in entry.attachments:
        name = field_name(attachment.filename or "attachment", source)
        if name in out:
            raise UsageError(f"{source}: two attachments are both named {name!r}")
        out[name] = bytes(attachment.data)
    return out
