"""Helpers for the import tests: the KeePass test data, keepassxc-cli, a CLI runner."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.cli import clikit

KDBX_PASS = "kdbx pass phrase"
SEED = "JBSWY3DPEHPK3PXP"

# Entries: (groups, title, username, password, url, notes, custom fields incl. otp)
ENTRIES = [
    (
        ("Acme", "DC01"),
        "Domain Admin",
        "ACME\\Administrator",
        "Dc-Pa55!word",
        "https://dc01.acme.example.invalid",
        "primary DC\nsecond line",
        {},
    ),
    (
        ("Acme", "Core Switch"),
        "admin",
        "admin",
        "sw1tchPW",
        None,
        None,
        {
            "otp": f"otpauth://totp/acme:admin?secret={SEED}&period=30&digits=6",
            "Enable Secret": "en4ble-me",
        },
    ),
    (("Acme", "sql-prod"), "sa", "sa", "=cmd|' /C calc'!A0", None, None, {}),
    (("Globex", "MFP 2nd floor"), "Web UI", "admin", "printer12", "http://192.0.2.50", None, {}),
    (("Globex", "Firewall", "Site B"), "root", "root", "fw-sécret-ü", None, None, {}),
]


@dataclass(frozen=True)
class KdbxFile:
    path: Path
    keyfile: Path
    xml: Path


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _entry_xml(
    title: str,
    username: str,
    password: str,
    url: str | None,
    notes: str | None,
    custom: dict[str, str],
) -> str:
    strings = {
        "Title": title,
        "UserName": username,
        "Password": password,
        "URL": url or "",
        "Notes": notes or "",
        **custom,
    }
    body = "".join(
        f"<String><Key>{_xml_escape(k)}</Key><Value>{_xml_escape(v)}</Value></String>"
        for k, v in strings.items()
    )
    return f"<Entry>{body}</Entry>"


def _group_xml(tree: dict, entries_at: dict) -> str:
    out = []
    for name, sub in tree.items():
        out.append(f"<Group><Name>{_xml_escape(name)}</Name>")
        out.append(_group_xml(sub["groups"], entries_at))
        out.extend(sub["entries"])
        out.append("</Group>")
    return "".join(out)


def build_xml() -> str:
    tree: dict = {}
    for groups, title, user, pw, url, notes, custom in ENTRIES:
        node = tree
        for i, g in enumerate(groups):
            node.setdefault(g, {"groups": {}, "entries": []})
            if i == len(groups) - 1:
                node[g]["entries"].append(_entry_xml(title, user, pw, url, notes, custom))
            node = node[g]["groups"]
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        "<KeePassFile><Meta><Generator>custodian-tests</Generator></Meta><Root>"
        f"<Group><Name>Root</Name>{_group_xml(tree, {})}</Group></Root></KeePassFile>"
    )


def keepassxc(*args: str, stdin: str) -> None:
    subprocess.run(
        ["keepassxc-cli", *args],
        input=stdin,
        text=True,
        check=True,
        capture_output=True,
        timeout=60,
    )


def run_cli(db: str, *args: str, **options: Any) -> subprocess.CompletedProcess[str]:
    """`tests.cli.clikit.run_cli`, with time for a large import."""
    return clikit.run_cli(db, *args, timeout=300, **options)


def fast_kdbx(path: Path, password: str):  # type: ignore[no-untyped-def]
    """A KDBX 4 made by pykeepass with a cheap Argon2 (1 MiB, t=1): for error paths and
    the CLI tests, where keepassxc-cli's AES-KDF would cost seconds per open."""
    from pykeepass import create_database

    kp = create_database(str(path), password=password)
    params = kp.kdbx.header.value.dynamic_header.kdf_parameters.data.dict
    params["M"].value, params["I"].value = 1024 * 1024, 1
    return kp
