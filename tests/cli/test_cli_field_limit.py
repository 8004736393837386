"""The field size limit (issue 19): one per vault, set by an admin, the same on every
write path (`cred add|set` from stdin, `--file`, `--fields-json`, `import`)."""

from __future__ import annotations

from pathlib import Path

from tests.cli.clikit import CANARY, CRED, Cli

KIB = 1024


def _csv(tmp_path: Path, value: str) -> Path:
    f = tmp_path / "items.csv"
    f.write_text(f"name,password\nbig,{value}\n")
    return f


def _import(cli: Cli, f: Path, expect: int = 0) -> str:
    cols = "name=name,password=password"
    r = cli.run("import", "csv", str(f), "--customer", "acme", "--columns", cols, expect=expect)
    return r.stderr


def test_an_admin_lowers_the_limit_and_every_write_path_keeps_it(both: Cli, tmp_path: Path) -> None:
    assert both.run("field-limit").stdout == "1 MiB\n"
    assert both.run("field-limit", "64KiB").stdout == "64 KiB\n"
    over, fits = "x" * (64 * KIB + 1), "y" * (64 * KIB)
    said = "larger than 64 KiB, this vault's field limit (`custodian field-limit`)"
    r = both.run("cred", "add", "acme/dc01/big", input=over, expect=2)
    assert said in r.stderr and over[:100] not in r.stderr
    r = both.run("cred", "set", CRED, input=over, user="ben", expect=2)
    assert said in r.stderr
    fields = f'{{"password": "p", "enable": "{over}"}}'
    r = both.run("cred", "set", CRED, "--fields-json", input=fields, user="ben", expect=2)
    assert said in r.stderr and "'enable'" in r.stderr
    big = tmp_path / "big.bin"
    big.write_bytes(b"\x00" * (64 * KIB + 1))
    r = both.run("cred", "set", CRED, "--field", "blob", "--file", str(big), user="ben", expect=2)
    assert said in r.stderr
    assert said in _import(both, _csv(tmp_path, over), expect=2)
    assert both.run("get", CRED, user="ben").stdout == CANARY + "\n"  # nothing was written
    both.run("cred", "add", "acme/dc01/big", input=fits)
    assert both.run("get", "acme/dc01/big", user="ben").stdout == fits + "\n"
    events = both.run("log", "--action", "field-limit-set", "--format", "json").json()
    assert [(e["actor"], e["detail"]) for e in events] == [("ada", {"from": 1048576, "to": 65536})]


def test_a_raised_limit_lets_a_larger_field_in_on_every_path(both: Cli, tmp_path: Path) -> None:
    value = "z" * (1024 * KIB + 1)  # over the default 1 MiB
    both.run("cred", "add", "acme/dc01/big", input=value, expect=2)
    assert both.run("field-limit", "2 MiB").stdout == "2 MiB\n"
    both.run("cred", "add", "acme/dc01/big", input=value)
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\xff" * (1024 * KIB + 1))
    both.run("cred", "set", CRED, "--field", "blob", "--file", str(blob), user="ben")
    _import(both, _csv(tmp_path, value))
    assert both.run("get", "acme/dc01/big", user="ben").stdout == value + "\n"
    out = str(tmp_path / "out.bin")
    r = both.run("get", CRED, "--field", "blob", "--out", out, user="ben")
    assert r.code == 0 and (tmp_path / "out.bin").read_bytes() == blob.read_bytes()


def test_only_an_admin_sets_the_limit_and_bad_sizes_are_one_line_errors(cli: Cli) -> None:
    assert cli.run("field-limit", user="ben").stdout == "1 MiB\n"  # every writer may read it
    r = cli.run("field-limit", "2MiB", user="ben", expect=4)
    assert "admin" in r.stderr
    for bad, said in (
        ("12kb", "not a size"),
        ("lots", "not a size"),
        ("100", "between 1 KiB and 16 MiB"),
        ("17MiB", "between 1 KiB and 16 MiB"),
    ):
        assert said in cli.run("field-limit", bad, expect=2).stderr
    assert cli.run("field-limit").stdout == "1 MiB\n"


def test_the_cli_reads_no_further_than_any_vault_allows(cli: Cli, tmp_path: Path) -> None:
    huge = "x" * (16 * 1024 * KIB + 3)
    r = cli.run("cred", "add", "acme/dc01/huge", input=huge, expect=2)
    assert "larger than 16 MiB, the most any vault's field limit allows" in r.stderr
    f = tmp_path / "huge.bin"
    f.write_bytes(b"\x00" * (16 * 1024 * KIB + 1))
    r = cli.run("cred", "set", CRED, "--field", "f", "--file", str(f), user="ben", expect=2)
    assert "larger than 16 MiB, the most any vault's field limit allows" in r.stderr


def test_a_limit_written_behind_custodians_back_stays_within_the_bounds(cli: Cli) -> None:
    cli.sql("UPDATE vault_info SET max_field_bytes = ?", (1 << 40,))
    assert cli.run("field-limit").stdout == "16 MiB\n"
    cli.sql("UPDATE vault_info SET max_field_bytes = ?", (0,))
    assert cli.run("field-limit").stdout == "1 KiB\n"
