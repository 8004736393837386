"""Network devices (switches, routers): command templates sent over SSH with netmiko.

A template is what an engineer would type: steps, each a line sent and the prompt that
must follow. Wherever the device can prompt for a password it does, and the secret is
sent as the answer to that prompt, never inside a command line (Juniper, HP/Aruba,
MikroTik's `/password`); Cisco IOS has no prompting form, so its `username ... secret`
line carries it (over the SSH channel only; the device stores its hash).

    cisco-ios          conf t; username U secret NEW; end; write memory
    hp-procurve        password manager user-name U  (New password / Retype); write memory
    aruba-os           (AOS-CX) user U password  (Enter / Confirm); write memory
    juniper-junos      configure; set system login user U authentication
                       plain-text-password (New / Retype); commit and-quit
    mikrotik-routeros  self: /password (old, new, confirm); else /user set U password=NEW
    generic-ssh        a POSIX shell: passwd (current, new, retype), then the exit status

The host key is checked as for `ssh` (netmiko's strict mode with the stored key as its
only known host); verify logs in over plain SSH (`ssh.session`). netmiko's DEBUG log
would echo every line sent, so its logger is held at INFO.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..secret import Secret
from .base import (
    Account,
    ChangeRefused,
    ChangeUnknown,
    HostKeyMismatch,
    LoginRejected,
    Target,
    TargetUnreachable,
)
from .ssh import PORT, parse_host_key, session

logging.getLogger("netmiko").setLevel(logging.INFO)  # DEBUG would log the lines sent

NEW, OLD = "{new}", "{old}"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # bracketed paste and colours around a prompt


@dataclass(frozen=True)
class Step:
    send: str  # a line; "{account}" is filled in; NEW / OLD alone: send that secret
    expect: str | None = None  # a regex (case-insensitive) the answer ends with; None: prompt


@dataclass(frozen=True)
class Template:
    device_type: str  # netmiko's
    steps: tuple[Step, ...]
    self_steps: tuple[Step, ...] | None = None  # when the account changes its own

    def for_login(self, is_self: bool) -> tuple[Step, ...]:
        return self.self_steps if is_self and self.self_steps else self.steps


_PW = r"(new|enter|retype|confirm|again).*password.*:\s*$"
TEMPLATES: dict[str, Template] = {
    "cisco-ios": Template(
        "cisco_ios",
        (
            Step("configure terminal", r"\(config\)#"),
            Step("username {account} secret " + NEW, r"\(config\)#"),
            Step("end"),
            Step("write memory", r"\[OK\]|#"),
        ),
    ),
    "hp-procurve": Template(
        "hp_procurve",
        (
            Step("password manager user-name {account}", _PW),
            Step(NEW, _PW),
            Step(NEW),
            Step("write memory"),
        ),
    ),
    "aruba-os": Template(
        "aruba_aoscx",
        (
            Step("configure terminal", r"\(config\)#"),
            Step("user {account} password", _PW),
            Step(NEW, _PW),
            Step(NEW, r"\(config\)#"),
            Step("end"),
            Step("write memory"),
        ),
    ),
    "juniper-junos": Template(
        "juniper_junos",
        (
            Step("configure", r"#\s*$"),
            Step("set system login user {account} authentication plain-text-password", _PW),
            Step(NEW, _PW),
            Step(NEW, r"#\s*$"),
            Step("commit and-quit", r"commit complete"),
        ),
    ),
    "mikrotik-routeros": Template(
        "mikrotik_routeros",
        (Step('/user set [find name="{account}"] password="' + NEW + '"'),),
        self_steps=(
            Step("/password", r"old.password:\s*$"),
            Step(OLD, r"new.password:\s*$"),
            Step(NEW, r"confirm.*password:\s*$"),
            Step(NEW),
        ),
    ),
    "generic-ssh": Template(
        "generic",
        (
            Step("sudo -n /usr/sbin/chpasswd", None),  # then `account:new` and EOF
        ),
        self_steps=(
            Step("passwd", r"current.*password:\s*$"),
            Step(OLD, r"new.*password:\s*$"),
            Step(NEW, r"retype.*password:\s*$"),
            Step(NEW),
            Step("echo custodian-rc=$?", r"custodian-rc=0"),
        ),
    ),
}


def render(
    template: Template, account: str, new: Secret, old: Secret, *, is_self: bool
) -> list[tuple[str, str | None]]:
    """The lines to send and what must follow each (unit-tested per vendor)."""
    out: list[tuple[str, str | None]] = []
    for step in template.for_login(is_self):
        line = step.send.replace("{account}", account)
        line = line.replace(NEW, new.reveal()).replace(OLD, old.reveal())
        out.append((line, step.expect))
    return out


@contextmanager
def _known_hosts(target: Target) -> Iterator[str]:
    """A known_hosts file with the stored key alone (public data; removed after use)."""
    if not target.host_key:
        raise HostKeyMismatch(
            f"no SSH host key is stored for {target.host}: set one before rotating"
        )
    key = parse_host_key(target.host_key)
    port = target.port or PORT
    name = target.host if port == PORT else f"[{target.host}]:{port}"
    fd, path = tempfile.mkstemp(prefix="custodian-known-hosts-")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(f"{name} {key.get_name()} {key.get_base64()}\n")
        yield path
    finally:
        os.unlink(path)


class NetworkConnector:
    """One vendor's template over netmiko."""

    name = "network"
    template: Template

    def _connect(self, target: Target, login: Account, known: str) -> Any:
        from netmiko import ConnectHandler
        from netmiko.exceptions import (
            NetmikoAuthenticationException,
            NetmikoTimeoutException,
        )
        from paramiko.ssh_exception import BadHostKeyException, SSHException

        try:
            return ConnectHandler(
                device_type=self.template.device_type,
                host=target.host,
                port=target.port or PORT,
                username=login.username,
                password=login.secret.reveal(),
                ssh_strict=True,
                system_host_keys=False,
                alt_host_keys=True,
                alt_key_file=known,
                use_keys=False,
                allow_agent=False,
                conn_timeout=target.timeout,
                auth_timeout=target.timeout,
                banner_timeout=target.timeout,
            )
        except NetmikoAuthenticationException:
            raise LoginRejected(
                f"{target.where(PORT)} refused the password of {login.username!r}"
            ) from None
        except BadHostKeyException:
            raise HostKeyMismatch(f"{target.where(PORT)}: not the stored host key") from None
        except (NetmikoTimeoutException, SSHException, OSError) as exc:
            if "known_hosts" in str(exc) or "not found in" in str(exc):
                raise HostKeyMismatch(f"{target.where(PORT)}: not the stored host key") from None
            raise TargetUnreachable(f"{target.where(PORT)}: {type(exc).__name__}") from None

    def change(self, target: Target, account: str, new: Secret, *, login: Account) -> None:
        is_self = login.username == account
        lines = render(self.template, account, new, login.secret, is_self=is_self)
        with _known_hosts(target) as known:
            conn = self._connect(target, login, known)
            try:
                prompt = re.escape(_ANSI.sub("", conn.find_prompt()).strip())
                for line, expect in lines:
                    conn.write_channel(line + conn.RETURN)
                    if line.startswith("sudo -n /usr/sbin/chpasswd"):
                        conn.write_channel(f"{account}:{new.reveal()}{conn.RETURN}\x04")
                    conn.read_until_pattern(
                        expect or prompt, read_timeout=target.timeout, re_flags=re.IGNORECASE
                    )
            except (OSError, EOFError) as exc:
                raise ChangeUnknown(
                    f"{target.where(PORT)}: the session broke while changing {account!r}"
                    f" ({type(exc).__name__})"
                ) from None
            except Exception as exc:  # netmiko's ReadTimeout: the device said something else
                raise ChangeRefused(
                    f"{target.where(PORT)}: the device did not answer as the"
                    f" {self.name} template expects ({type(exc).__name__})"
                ) from None
            finally:
                conn.disconnect()

    def verify(self, target: Target, login: Account) -> bool:
        try:
            with session(target, login):
                return True
        except LoginRejected:
            return False


def _make(key: str) -> type[NetworkConnector]:
    return type(
        key.title().replace("-", ""), (NetworkConnector,), {"name": key, "template": TEMPLATES[key]}
    )


CiscoIos = _make("cisco-ios")
HpProcurve = _make("hp-procurve")
ArubaOs = _make("aruba-os")
JuniperJunos = _make("juniper-junos")
MikrotikRouterOs = _make("mikrotik-routeros")
GenericSsh = _make("generic-ssh")
