"""Network-device templates: each vendor's command sequence (unit tests of `render`), and
the generic driver run through netmiko against a real sshd. netmiko's debug log never
holds a secret."""

from __future__ import annotations

import logging

import pytest

from custodian.connectors import load
from custodian.connectors.network import TEMPLATES, render
from custodian.db.models import SystemKind
from custodian.secret import Secret
from tests.conftest import VaultKit

from .conftest import add_cred, current, linux_system
from .servers import Sshd

NEW, OLD = Secret("N3w-pass-word!"), Secret("0ld-pass-word!")


def _lines(key: str, *, is_self: bool = False) -> list[str]:
    return [line for line, _ in render(TEMPLATES[key], "netops", NEW, OLD, is_self=is_self)]


def test_cisco_ios_sets_a_secret_in_configuration_mode_and_saves() -> None:
    assert _lines("cisco-ios") == [
        "configure terminal",
        "username netops secret N3w-pass-word!",
        "end",
        "write memory",
    ]


def test_hp_procurve_answers_the_password_prompts() -> None:
    lines = render(TEMPLATES["hp-procurve"], "netops", NEW, OLD, is_self=False)
    assert [line for line, _ in lines] == [
        "password manager user-name netops",
        "N3w-pass-word!",
        "N3w-pass-word!",
        "write memory",
    ]
    assert lines[0][1] is not None and "password" in lines[0][1]  # a prompt, then the secret


def test_aruba_cx_juniper_and_mikrotik() -> None:
    assert _lines("aruba-os")[1:4] == ["user netops password", "N3w-pass-word!", "N3w-pass-word!"]
    junos = _lines("juniper-junos")
    assert junos[0] == "configure" and junos[-1] == "commit and-quit"
    assert junos[1] == "set system login user netops authentication plain-text-password"
    assert "N3w-pass-word!" not in junos[1]  # the secret answers a prompt
    assert _lines("mikrotik-routeros") == [
        '/user set [find name="netops"] password="N3w-pass-word!"'
    ]
    assert _lines("mikrotik-routeros", is_self=True) == [
        "/password",
        "0ld-pass-word!",
        "N3w-pass-word!",
        "N3w-pass-word!",
    ]


@pytest.mark.parametrize("name", ["cisco-ios", "hp-procurve", "aruba-os", "juniper-junos"])
def test_each_vendor_is_a_connector(name: str) -> None:
    assert load(name).name == name


def test_the_generic_driver_rotates_over_netmiko_against_sshd(
    vault: VaultKit, sshd: Sshd, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    old = "Old-pass-4711!x"
    user = sshd.account(old)
    system = linux_system(vault, sshd, connector="generic-ssh")
    path = add_cred(vault, f"{system}/svc", user, old)
    assert vault.admin.rotator().rotate(path).connector == "generic-ssh"
    new = current(vault, path)
    assert sshd.accepts(user, new) and not sshd.accepts(user, old)
    logged = caplog.text
    assert new not in logged and old not in logged
    assert SystemKind.SWITCH == "switch"


def test_router_passwords_are_safe_to_type_into_a_cli() -> None:
    from custodian.generate import generate_password

    for _ in range(50):
        value = generate_password(SystemKind.ROUTER)
        assert value.isalnum() and len(value) == 20
