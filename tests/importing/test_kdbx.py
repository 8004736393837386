"""KeePass import: a database made by keepassxc-cli, imported and checked value by value."""

from __future__ import annotations

import pytest

from custodian.db.models import SystemKind
from custodian.errors import AccessDenied, AuthenticationFailed, UsageError
from custodian.exchange.importers import Rule, guess_kind
from custodian.exchange.importers.kdbx import read_kdbx
from tests.importing.importkit import ENTRIES, SEED, fast_kdbx


def _counts(vault) -> tuple:
    return tuple(
        vault.sql(f"SELECT count(*) FROM {t}")[0][0]
        for t in ("customer", "system", "credential", "secret_version", "access_event")
    )


def test_keepassxc_database_is_read_entry_by_entry(keepassxc_parsed, keepassxc_kdbx):
    items = {i.path: i for i in keepassxc_parsed.items}
    assert set(items) == {
        "acme/DC01/Domain Admin",
        "acme/Core Switch/admin",
        "acme/sql-prod/sa",
        "globex/MFP 2nd floor/Web UI",
        "globex/Firewall - Site B/root",
        "initech/rtr-edge/enable",
    }
    switch = items["acme/Core Switch/admin"]
    assert switch.fields["password"].reveal() == "sw1tchPW"
    assert SEED in switch.fields["otp"].reveal()
    assert switch.fields["enable-secret"].reveal() == "en4ble-me"
    assert SEED not in repr(switch) and "sw1tchPW" not in repr(keepassxc_parsed)
    assert items["acme/DC01/Domain Admin"].customer_name == "Acme"
    # An attachment is a file field named after its file (issue 19), byte for byte.
    attached = items["acme/DC01/Domain Admin"].fields["backup.xml"]
    assert attached.is_file and attached.reveal_bytes() == keepassxc_kdbx.xml.read_bytes()
    assert not any("attachment" in s for s in keepassxc_parsed.skipped)


def test_kdbx_import_stores_every_value(vault, keepassxc_parsed):
    report = vault.admin.import_items(keepassxc_parsed.items, source="msp.kdbx")
    assert len(report.created) == 6 and report.customers == ("acme", "globex", "initech")
    for slug in report.customers:
        vault.admin.grant("admin", slug)
    by_path = {c.path: c for c in vault.admin.list_credentials()}
    for groups, title, username, password, url, notes, custom in ENTRIES:
        system = " - ".join(groups[1:])
        path = f"{groups[0].lower()}/{system}/{title}"
        assert vault.admin.reveal(path).reveal() == password
        info = by_path[path]
        assert (info.username, info.url) == (username, url)
        if "Enable Secret" in custom:
            assert vault.admin.reveal(path, field="enable-secret").reveal() == "en4ble-me"
            assert vault.admin.reveal(path, field="otp-seed").reveal() == custom["otp"]
    assert vault.admin.reveal("initech/rtr-edge/enable").reveal() == "r0uter-pw"
    kinds = {
        (s.customer, s.name): s.kind
        for slug in report.customers
        for s in vault.admin.show_customer(slug).systems
    }
    assert kinds == {
        ("acme", "DC01"): "active-directory",
        ("acme", "Core Switch"): "switch",
        ("acme", "sql-prod"): "database",
        ("globex", "MFP 2nd floor"): "printer",
        ("globex", "Firewall - Site B"): "router",
        ("initech", "rtr-edge"): "router",
    }
    notes = vault.sql("SELECT notes FROM credential WHERE name = 'Domain Admin'")[0][0]
    assert notes == "primary DC\nsecond line"


def test_reimport_updates_instead_of_duplicating(vault, keepassxc_parsed):
    vault.admin.import_items(keepassxc_parsed.items, source="msp.kdbx")
    vault.admin.grant("admin", "acme")
    before = vault.sql("SELECT count(*) FROM secret_version")[0][0]
    again = vault.admin.import_items(keepassxc_parsed.items, source="msp.kdbx")
    assert again.created == () and again.customers == () and again.systems == ()
    # acme is readable (granted): its 3 unchanged secrets are compared and kept;
    # globex and initech are not: their 3 credentials get a new version each.
    assert set(again.unchanged) == {
        "acme/DC01/Domain Admin",
        "acme/Core Switch/admin",
        "acme/sql-prod/sa",
    }
    assert again.compared == 3 and len(again.updated) == 3
    assert vault.sql("SELECT count(*) FROM secret_version")[0][0] == before + 3
    assert vault.sql("SELECT count(*) FROM credential")[0][0] == 6


def test_changed_secret_gets_a_new_version(vault, keepassxc_parsed):
    from dataclasses import replace

    from custodian.secret import Secret

    vault.admin.import_items(keepassxc_parsed.items, source="msp.kdbx")
    vault.admin.grant("admin", "acme")
    changed = [
        replace(i, fields={"password": Secret("rotated!")}) if i.name == "sa" else i
        for i in keepassxc_parsed.items
        if i.customer == "acme"
    ]
    report = vault.admin.import_items(changed, source="msp.kdbx")
    assert report.updated == ("acme/sql-prod/sa",) and len(report.unchanged) == 2
    assert vault.admin.reveal("acme/sql-prod/sa").reveal() == "rotated!"
    assert [v.version for v in vault.admin.history("acme/sql-prod/sa")] == [1, 2]


def test_dry_run_writes_nothing(vault, keepassxc_parsed):
    before = _counts(vault)
    report = vault.admin.import_items(keepassxc_parsed.items, source="msp.kdbx", dry_run=True)
    assert report.dry_run and len(report.created) == 6 and len(report.systems) == 6
    assert _counts(vault) == before


def test_a_bad_item_late_in_the_file_leaves_nothing(vault, keepassxc_parsed):
    from dataclasses import replace

    from custodian.secret import Secret

    items = list(keepassxc_parsed.items)
    items[-1] = replace(items[-1], fields={"password": Secret("nul\x00inside")})
    before = _counts(vault)
    with pytest.raises(UsageError, match=r"entry 'Initech/rtr-edge/enable'.*control characters"):
        vault.admin.import_items(items, source="msp.kdbx")
    assert _counts(vault) == before


def test_technician_cannot_create_customers_by_import(vault, keepassxc_parsed):
    ben = vault.tech("ben")
    before = _counts(vault)
    with pytest.raises(AccessDenied, match=r"needs the role admin|no access"):
        ben.import_items(keepassxc_parsed.items, source="msp.kdbx")
    assert _counts(vault)[:4] == before[:4]


def test_customer_rule_puts_everything_under_one_customer(tmp_path):
    db = fast_kdbx(tmp_path / "one.kdbx", "pw")
    servers = db.add_group(db.root_group, "Servers")
    db.add_entry(servers, "dc01 admin", "Administrator", "pw1")
    db.add_entry(db.root_group, "loose", "u", "pw2")
    db.add_entry(servers, "empty", "u", "")
    e = db.add_entry(servers, "kp2 totp", "u", "pw3")
    e.set_custom_property("TimeOtp-Secret-Base32", SEED)
    db.save()
    parsed = read_kdbx(tmp_path / "one.kdbx", "pw", Rule(customer="acme"))
    paths = sorted(i.path for i in parsed.items)
    assert paths == ["acme/Servers/dc01 admin", "acme/Servers/kp2 totp", "acme/general/loose"]
    assert any("no password" in s for s in parsed.skipped)
    totp = next(i for i in parsed.items if i.name == "kp2 totp")
    assert totp.fields["otp"].reveal().startswith("otpauth://totp/")
    with pytest.raises(AuthenticationFailed):
        read_kdbx(tmp_path / "one.kdbx", "wrong", Rule(customer="acme"))
    (tmp_path / "junk.kdbx").write_bytes(b"not a keepass file at all")
    with pytest.raises(UsageError, match="not a readable KeePass database"):
        read_kdbx(tmp_path / "junk.kdbx", "pw", Rule(customer="acme"))


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("DC01", SystemKind.ACTIVE_DIRECTORY),
        ("ad-primary", SystemKind.ACTIVE_DIRECTORY),
        ("sql-prod", SystemKind.DATABASE),
        ("CRM DB", SystemKind.DATABASE),
        ("core-sw1", SystemKind.SWITCH),
        ("SW 3rd floor", SystemKind.SWITCH),
        ("rtr-edge", SystemKind.ROUTER),
        ("FW", SystemKind.ROUTER),
        ("MFP 2nd floor", SystemKind.PRINTER),
        ("printer-lobby", SystemKind.PRINTER),
        ("fileserver", SystemKind.OTHER),
        ("adobe", SystemKind.OTHER),
    ],
)
def test_kind_is_guessed_from_the_name(name, kind):
    assert guess_kind(name) == kind


def test_kind_map_overrides_the_guess(vault):
    from custodian.exchange.importers._common import Parsed, make_item, parse_kind_map

    rule = Rule(customer="acme", kind_map=parse_kind_map(("dc*=other", "*nas*=database")))
    parsed = Parsed()
    for system in ("DC01", "nas01", "sw1"):
        make_item(
            rule,
            f"x:{system}",
            customer=None,
            system=system,
            name="admin",
            secrets={"password": "pw"},
            parsed=parsed,
        )
    vault.admin.add_customer("acme", "Acme")
    vault.admin.import_items(parsed.items, source="x")
    kinds = {s.name: s.kind for s in vault.admin.show_customer("acme").systems}
    assert kinds == {"DC01": "other", "nas01": "database", "sw1": "switch"}
