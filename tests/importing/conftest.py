"""Fixtures for the import tests: a KeePass database made by the real `keepassxc-cli`.

keepassxc-cli writes KDBX 3.1 with AES-KDF rounds calibrated to at least 100 ms of native
code, which pykeepass needs several seconds to derive: the database is made and read once
per session (`keepassxc_parsed`), and each test imports the parsed items.
"""

from __future__ import annotations

import shutil

import pytest

from custodian.exchange.importers import Parsed, Rule
from tests.importing.importkit import KDBX_PASS, KdbxFile, build_xml, keepassxc


@pytest.fixture(scope="session")
def keepassxc_kdbx(tmp_path_factory: pytest.TempPathFactory) -> KdbxFile:
    """A KDBX built by keepassxc-cli: `import` of an XML with groups, custom fields and
    an otp attribute, then `mkdir` + `add` for one more entry and an attachment."""
    if shutil.which("keepassxc-cli") is None:
        pytest.fail("keepassxc-cli is not installed (apt-get install keepassxc)")
    d = tmp_path_factory.mktemp("kdbx")
    xml, db, keyfile = d / "seed.xml", d / "msp.kdbx", d / "msp.key"
    xml.write_text(build_xml(), encoding="utf-8")
    keyfile.write_bytes(b"custodian test key file 0123456789abcdef")
    keepassxc(
        "import",
        "-q",
        "-p",
        "-t",
        "100",
        "--set-key-file",
        str(keyfile),
        str(xml),
        str(db),
        stdin=f"{KDBX_PASS}\n{KDBX_PASS}\n",
    )
    auth = ["-q", "-k", str(keyfile)]
    keepassxc("mkdir", *auth, str(db), "Initech", stdin=KDBX_PASS + "\n")
    keepassxc("mkdir", *auth, str(db), "Initech/rtr-edge", stdin=KDBX_PASS + "\n")
    keepassxc(
        "add",
        *auth,
        "-u",
        "cisco",
        "--url",
        "ssh://192.0.2.1",
        "-p",
        str(db),
        "Initech/rtr-edge/enable",
        stdin=f"{KDBX_PASS}\nr0uter-pw\n",
    )
    keepassxc(
        "attachment-import",
        *auth,
        str(db),
        "Acme/DC01/Domain Admin",
        "backup.xml",
        str(xml),
        stdin=KDBX_PASS + "\n",
    )
    return KdbxFile(db, keyfile, xml)


@pytest.fixture(scope="session")
def keepassxc_parsed(keepassxc_kdbx: KdbxFile) -> Parsed:
    from custodian.exchange.importers.kdbx import read_kdbx

    return read_kdbx(
        keepassxc_kdbx.path, KDBX_PASS, Rule(map_groups=True), keyfile=keepassxc_kdbx.keyfile
    )
