"""CSV and Bitwarden JSON imports: mappings, presets, errors with file and line."""

from __future__ import annotations

import csv
import json

import pytest

from custodian.errors import UsageError
from custodian.exchange.importers import Rule
from custodian.exchange.importers.tabular import read_csv
from custodian.secret import MAX_FIELD_BYTES


def write_csv(path, header, rows, encoding="utf-8"):
    with open(path, "w", newline="", encoding=encoding) as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_generic_mapping_with_extra_field(vault, tmp_path):
    f = write_csv(
        tmp_path / "pw.csv",
        ["Organization", "Asset", "Title", "Login", "Secret", "Enable", "Link", "Kind"],
        [
            ["Acme Corp", "core-sw1", "admin", "root", "pw-1", "en-1", "", ""],
            ["Acme Corp", "nas01", "admin", "root", "pw-2", "", "https://nas", "database"],
            ["Globex", "", "portal", "me", "pw-3", "", "", ""],
        ],
    )
    parsed = read_csv(
        f,
        Rule(),
        columns="customer=Organization,system=Asset,name=Title,"
        "username=Login,password=Secret,enable-secret=Enable,url=Link,kind=Kind",
    )
    assert [i.path for i in parsed.items] == [
        "acme-corp/core-sw1/admin",
        "acme-corp/nas01/admin",
        "globex/general/portal",
    ]
    report = vault.admin.import_items(parsed.items, source=str(f))
    assert report.customers == ("acme-corp", "globex")
    vault.admin.grant("admin", "acme-corp")
    assert vault.admin.reveal("acme-corp/core-sw1/admin", field="enable-secret").reveal() == "en-1"
    assert vault.admin.reveal("acme-corp/nas01/admin").reveal() == "pw-2"
    kinds = {s.name: s.kind for s in vault.admin.show_customer("acme-corp").systems}
    assert kinds == {"core-sw1": "switch", "nas01": "database"}
    assert vault.admin.show_customer("acme-corp").customer.name == "Acme Corp"


def test_bitwarden_csv_preset(tmp_path):
    header = [
        "folder",
        "favorite",
        "type",
        "name",
        "notes",
        "fields",
        "reprompt",
        "login_uri",
        "login_username",
        "login_password",
        "login_totp",
    ]
    f = write_csv(
        tmp_path / "bw.csv",
        header,
        [
            [
                "Acme/DC01",
                "",
                "login",
                "Domain Admin",
                "n",
                "Recovery: rec-1\nPIN: 1234",
                "0",
                "https://dc01",
                "administrator",
                "bw-pw",
                "JBSWY3DPEHPK3PXP",
            ],
            ["", "", "note", "a note", "text", "", "0", "", "", "", ""],
        ],
    )
    parsed = read_csv(f, Rule(map_groups=True), preset="bitwarden")
    (item,) = parsed.items
    assert item.path == "acme/DC01/Domain Admin" and item.url == "https://dc01"
    assert {k: v.reveal() for k, v in item.fields.items()} == {
        "password": "bw-pw",
        "otp": "JBSWY3DPEHPK3PXP",
        "recovery": "rec-1",
        "pin": "1234",
    }
    assert any("not a login" in s for s in parsed.skipped)


def test_bitwarden_json_preset(tmp_path):
    doc = {
        "encrypted": False,
        "folders": [{"id": "f1", "name": "Firewall"}],
        "items": [
            {
                "type": 1,
                "name": "edge",
                "folderId": "f1",
                "notes": None,
                "login": {
                    "username": "root",
                    "password": "fw-pw",
                    "totp": None,
                    "uris": [{"uri": "https://fw"}],
                },
                "fields": [{"name": "Enable", "value": "en", "type": 1}],
            },
            {"type": 2, "name": "secure note", "notes": "x"},
        ],
    }
    f = tmp_path / "bw.json"
    f.write_text(json.dumps(doc))
    parsed = read_csv(f, Rule(customer="acme"), preset="bitwarden-json")
    (item,) = parsed.items
    assert item.path == "acme/Firewall/edge" and item.fields["enable"].reveal() == "en"
    f.write_text(json.dumps({**doc, "encrypted": True}))
    with pytest.raises(UsageError, match="encrypted Bitwarden export"):
        read_csv(f, Rule(customer="acme"), preset="bitwarden-json")
    f.write_text('{"items": [\n{"type": 1,\n')
    with pytest.raises(UsageError, match=r"bw\.json:3: malformed JSON"):
        read_csv(f, Rule(customer="acme"), preset="bitwarden-json")


def test_hudu_and_itglue_presets(tmp_path):
    hudu = write_csv(
        tmp_path / "hudu.csv",
        [
            "Company Name",
            "Password Folder Name",
            "Name",
            "Username",
            "Password",
            "URL",
            "Description",
            "OTP Secret",
        ],
        [["Acme", "Printers", "MFP admin", "admin", "h-pw", "", "lobby", ""]],
    )
    (item,) = read_csv(hudu, Rule(), preset="hudu").items
    assert item.path == "acme/Printers/MFP admin" and item.notes == "lobby"
    itg = write_csv(
        tmp_path / "itglue.csv",
        ["id", "organization", "name", "password_category", "username", "password", "url", "notes"],
        [["1", "Globex Inc", "sql sa", "Database", "sa", "g-pw", "", ""]],
    )
    (item,) = read_csv(itg, Rule(), preset="itglue").items
    assert item.path == "globex-inc/Database/sql sa" and item.fields["password"].reveal() == "g-pw"


def test_errors_name_file_and_line(tmp_path):
    cols = "customer=c,system=s,name=n,password=p"
    f = write_csv(
        tmp_path / "bad.csv", ["c", "s", "n", "p"], [["acme", "dc", "a", "x"], ["acme", "dc", "b"]]
    )
    with pytest.raises(UsageError, match=r"bad\.csv:3: 3 columns where the header has 4"):
        read_csv(f, Rule(), columns=cols)
    f.write_bytes(b"c,s,n,p\nacme,dc,a,x\nacme,dc,\xff\xfe,x\n")
    with pytest.raises(UsageError, match=r"bad\.csv:3: not valid utf-8"):
        read_csv(f, Rule(), columns=cols)
    f.write_text('c,s,n,p\nacme,dc,a,x\nacme,dc,"multi\nline",x\nacme,dc,b\n')
    with pytest.raises(UsageError, match=r"bad\.csv:5: 3 columns"):
        read_csv(f, Rule(), columns=cols)
    with pytest.raises(UsageError, match=r"bad\.csv:1: no column 'Nope' for 'password'"):
        read_csv(f, Rule(), columns="customer=c,system=s,name=n,password=Nope")
    # A cell over the most any vault's field limit allows (the vault's own limit is the
    # service's to check, tests/cli/test_cli_field_limit.py).
    f.write_text("c,s,n,p\n" + "acme,dc,a," + "x" * (MAX_FIELD_BYTES + 2) + "\n")
    with pytest.raises(UsageError, match=r"bad\.csv:2: malformed CSV \(a cell is larger than 16"):
        read_csv(f, Rule(), columns=cols)
    f.write_text('c,s,n,p\nacme,dc,a,"never closed\n')
    with pytest.raises(UsageError, match=r"bad\.csv:2: malformed CSV \(a quote is never closed"):
        read_csv(f, Rule(), columns=cols)


def test_duplicate_names_are_refused_or_numbered(vault, tmp_path):
    f = write_csv(
        tmp_path / "dup.csv",
        ["c", "s", "n", "p"],
        [["acme", "printers", "admin", "1"], ["acme", "printers", "admin", "2"]],
    )
    cols = "customer=c,system=s,name=n,password=p"
    with pytest.raises(UsageError, match=r"dup\.csv:3: 'acme/printers/admin' appears twice"):
        vault.admin.import_items(read_csv(f, Rule(), columns=cols).items, source="dup.csv")
    parsed = read_csv(f, Rule(dedupe=True), columns=cols)
    assert [i.name for i in parsed.items] == ["admin", "admin (2)"]


def test_formula_cells_do_not_become_names(tmp_path):
    f = write_csv(
        tmp_path / "evil.csv",
        ["c", "s", "n", "p"],
        [['=HYPERLINK("http://x")', "@SUM(1+1)", "+cmd|'/C calc'!A0", "=1+1"]],
    )
    (item,) = read_csv(f, Rule(), columns="customer=c,system=s,name=n,password=p").items
    assert item.customer == "hyperlink-http-x"
    assert not any(x[0] in "=+-@" for x in (item.system, item.name))
    assert item.fields["password"].reveal() == "=1+1"  # a secret is kept exactly
