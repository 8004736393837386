"""Alert thresholds from config.toml's `[alerts]` (custodian.userconfig) and options:
what each setting means and how bad ones are refused. The CLI path: test_cli_log.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from custodian import AlertPolicy
from custodian.errors import UsageError
from custodian.userconfig import CONFIG_ENV, config_path, section


def _named(key: str) -> str:
    return f"[alerts] {key}"


def test_settings_map_onto_the_policy() -> None:
    policy = AlertPolicy().with_settings(
        {
            "burst_count": 5,
            "burst_minutes": 2,
            "baseline_days": 7,
            "work_hours": "08-18",
            "work_days": "tue-thu",
            "timezone": "Europe/Berlin",
            "denied_count": 9,
            "denied_minutes": 60,
        },
        _named,
    )
    assert policy == AlertPolicy(5, 2, 7, 8, 18, (1, 2, 3), "Europe/Berlin", 9, 60)
    assert AlertPolicy().with_settings({"work_days": ["sat", "Sun"]}, _named).work_days == (5, 6)
    assert AlertPolicy().with_settings({"work_days": "mon,wed"}, _named).work_days == (0, 2)
    assert AlertPolicy().with_settings({}, _named) == AlertPolicy()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"burst_count": "many"}, "[alerts] burst_count takes a whole number"),
        ({"denied_minutes": 0}, "[alerts] denied_minutes takes a whole number of at least 1"),
        ({"baseline_days": True}, "[alerts] baseline_days takes a whole number"),
        ({"work_hours": "19-07"}, "[alerts] work_hours takes START-END with 0 <= START"),
        ({"work_hours": 7}, "[alerts] work_hours takes START-END, such as 07-19"),
        ({"work_days": "someday"}, "[alerts] work_days takes a range such as mon-fri"),
        ({"work_days": "fri-mon"}, "[alerts] work_days takes a range"),
        ({"work_days": []}, "[alerts] work_days takes a range"),
        ({"timezone": "Nowhere/X"}, "[alerts] timezone: unknown time zone 'Nowhere/X'"),
        ({"timezone": 3}, "[alerts] timezone: unknown time zone"),
        ({"typo": 1, "burst_count": 2}, "unknown alert settings: [alerts] typo"),
    ],
)
def test_bad_settings_are_refused_naming_the_setting(values: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(UsageError) as caught:
        AlertPolicy().with_settings(values, _named)
    assert str(caught.value).startswith(message)


def test_the_settings_file_and_its_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    monkeypatch.setenv(CONFIG_ENV, str(config))
    assert config_path() == config
    with pytest.raises(UsageError, match=r"CUSTODIAN_CONFIG names .* which is not a file"):
        section("alerts")
    config.write_text("[generate]\nx = 1\n")
    assert section("alerts") == ({}, f"{config} [alerts]")
    config.write_text("[alerts]\nburst_count = 4\n")
    assert section("alerts") == ({"burst_count": 4}, f"{config} [alerts]")
    config.write_text("alerts = 4\n")
    with pytest.raises(UsageError, match=r"alerts must be a table"):
        section("alerts")
    config.write_text("[alerts\n")
    with pytest.raises(UsageError, match="not a readable TOML file"):
        section("alerts")
    monkeypatch.setenv(CONFIG_ENV, "")
    assert config_path() is None and section("alerts") == ({}, "")


def test_the_default_file_is_in_the_user_config_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config_path() == tmp_path / "custodian" / "config.toml"
    assert section("alerts") == ({}, f"{tmp_path / 'custodian' / 'config.toml'} [alerts]")


def test_configured_applies_the_alerts_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[alerts]\nburst_count = 4\nwork_days = "sat-sun"\n')
    monkeypatch.setenv(CONFIG_ENV, str(config))
    assert AlertPolicy.configured() == AlertPolicy(burst_count=4, work_days=(5, 6))
    config.write_text("[alerts]\nburst_count = 0\n")
    with pytest.raises(UsageError, match=r"config.toml \[alerts\] burst_count takes"):
        AlertPolicy.configured()
    monkeypatch.setenv(CONFIG_ENV, "")
    assert AlertPolicy.configured() == AlertPolicy()
