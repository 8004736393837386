"""Generation policies per system kind, the config file, and `custodian gen`."""

from __future__ import annotations

import string
import subprocess
import sys

import pytest

from custodian.db.models import SystemKind
from custodian.errors import UsageError
from custodian.generate import CONFIG_ENV, generate_password, policy_for


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path, monkeypatch):
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "absent.toml"))


@pytest.mark.parametrize("kind", [SystemKind.PRINTER, SystemKind.SWITCH])
def test_printers_and_switches_get_letters_and_digits_up_to_16(kind):
    for _ in range(50):
        value = generate_password(kind)
        assert len(value) == 16 and value.isalnum() and value.isascii()
    with pytest.raises(UsageError, match="at most 16"):
        generate_password(kind, 20)
    with pytest.raises(UsageError, match="does not fit"):
        generate_password(kind, passphrase=True)


def test_active_directory_complexity_and_account_name():
    for _ in range(50):
        value = generate_password(SystemKind.ACTIVE_DIRECTORY, 8, username="abc")
        assert any(c.islower() for c in value) and any(c.isupper() for c in value)
        assert any(c.isdigit() for c in value) and any(c in string.punctuation for c in value)
        assert "abc" not in value.lower()
    phrase = generate_password(SystemKind.ACTIVE_DIRECTORY, passphrase=True, words=4)
    words = phrase.split("-")
    assert len(words) == 4 and any(c.isupper() for c in phrase) and phrase[-1].isdigit()


def test_passphrases_are_random_words():
    seen = {generate_password(passphrase=True) for _ in range(200)}
    assert len(seen) == 200
    assert all(len(p.split("-")) == 5 for p in seen)


def test_config_file_overrides_a_kind(tmp_path, monkeypatch):
    cfg = tmp_path / "generate.toml"
    cfg.write_text(
        "[default]\nlength = 30\n[printer]\nlength = 12\nmax_length = 14\n"
        "[database]\npassphrase = true\nwords = 6\n"
    )
    monkeypatch.setenv(CONFIG_ENV, str(cfg))
    assert len(generate_password(SystemKind.PRINTER)) == 12
    assert len(generate_password(SystemKind.ROUTER)) == 30
    assert len(generate_password(SystemKind.DATABASE).split("-")) == 6
    assert policy_for(SystemKind.PRINTER).symbols == ""
    cfg.write_text("[printer]\nlength = 'long'\n")
    with pytest.raises(UsageError, match="length must be int"):
        generate_password(SystemKind.PRINTER)
    cfg.write_text("[printer]\ncolour = 1\n")
    with pytest.raises(UsageError, match="takes only"):
        generate_password(SystemKind.PRINTER)
    cfg.write_text("[printer\n")
    with pytest.raises(UsageError, match="not a readable TOML"):
        generate_password(SystemKind.PRINTER)


def test_gen_command_prints_one_and_stores_nothing(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        CONFIG_ENV: str(tmp_path / "absent.toml"),
        "CUSTODIAN_DB": str(tmp_path / "none.db"),
        "HOME": str(tmp_path),
    }
    r = subprocess.run(
        [sys.executable, "-m", "custodian", "gen", "--kind", "printer"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert r.returncode == 0 and len(r.stdout.strip()) == 16 and r.stderr == ""
    assert not (tmp_path / "none.db").exists()
    r = subprocess.run(
        [sys.executable, "-m", "custodian", "gen", "--kind", "switch", "--passphrase"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert r.returncode == 2 and r.stderr.startswith("custodian: ")
