"""Files and SSH keys as secrets (issue 19), end to end through the CLI."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.cli.clikit import CRED, Cli

KDBX_PASS = "handover passphrase 42"
BLOB = bytes(range(256)) * 16 + b"\x00\xff tail"  # binary: NUL, invalid UTF-8


def test_a_file_field_round_trips_byte_for_byte_with_mode_0600(both: Cli, tmp_path: Path) -> None:
    src = tmp_path / "cert.p12"
    src.write_bytes(BLOB)
    both.run("cred", "set", CRED, "--field", "cert", "--file", str(src), user="ben")
    out = tmp_path / "out.p12"
    r = both.run("get", CRED, "--field", "cert", "--out", str(out), user="ben")
    assert r.stdout == "" and out.read_bytes() == BLOB
    assert out.stat().st_mode & 0o777 == 0o600
    r = both.run("get", CRED, "--field", "cert", "--out", str(out), user="ben", expect=2)
    assert "already exists" in r.stderr
    out.write_bytes(b"old")
    out.chmod(0o644)
    both.run("get", CRED, "--field", "cert", "--out", str(out), "--force", user="ben")
    assert out.read_bytes() == BLOB and out.stat().st_mode & 0o777 == 0o600
    r = both.run("get", CRED, "--field", "cert", user="ben", expect=2)
    assert "--out" in r.stderr
    shown = both.run("cred", "show", CRED, "--format", "json").json()[0]
    assert shown["credential"]["fields"] == ["cert", "password"]
    log = both.run("log", "--format", "json").stdout
    assert "cert.p12" not in log and BLOB.hex()[:32] not in log


def test_a_file_over_the_limit_is_refused(cli: Cli, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"\x01" * (1024 * 1024 + 1))
    r = cli.run("cred", "set", CRED, "--field", "blob", "--file", str(big), user="ben", expect=2)
    assert "the file 'blob' is larger than 1 MiB, this vault's field limit" in r.stderr
    cli.run("cred", "set", CRED, "--file", str(tmp_path / "missing"), expect=2)


def test_a_file_is_handed_over_as_a_keepass_attachment(cli: Cli, tmp_path: Path) -> None:
    from pykeepass import PyKeePass

    src = tmp_path / "vpn.ovpn"
    src.write_bytes(BLOB)
    cli.run("cred", "set", CRED, "--field", "vpn.ovpn", "--file", str(src), user="ben")
    cli.run("grant", "ada", "acme", "--until", "1h")
    target = tmp_path / "acme.kdbx"
    cli.run("customer", "offboard", "acme", "--handover", str(target), input=KDBX_PASS + "\n")
    kp = PyKeePass(str(target), password=KDBX_PASS)
    entry = kp.find_entries(title="administrator", first=True)
    assert [(a.filename, a.data) for a in entry.attachments] == [("vpn.ovpn", BLOB)]


@pytest.fixture
def ssh_agent(tmp_path: Path):
    if shutil.which("ssh-agent") is None:
        pytest.skip("ssh-agent not installed")
    sock = tmp_path / "agent.sock"
    proc = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if sock.exists():
                break
            subprocess.run(["sleep", "0.05"], check=True)
        yield str(sock)
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


def test_ssh_add_hands_the_key_over_stdin_and_logs_a_reveal(
    cli: Cli, tmp_path: Path, ssh_agent: str
) -> None:
    key = tmp_path / "id_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dc01", "-f", str(key)], check=True
    )
    cli.run("cred", "set", CRED, "--field", "ssh-key", "--file", str(key), user="ben")
    key.unlink()
    env = cli.env("ben", SSH_AUTH_SOCK=ssh_agent)
    before = set(os.listdir(tmp_path))
    cli.run("ssh-add", CRED, env=env)
    assert set(os.listdir(tmp_path)) == before  # no temporary file
    listed = subprocess.run(
        ["ssh-add", "-l"], env={"SSH_AUTH_SOCK": ssh_agent}, capture_output=True, text=True
    )
    assert "dc01" in listed.stdout and "ED25519" in listed.stdout
    events = cli.run("log", "--format", "json").json()
    assert [e["target"] for e in events if e["action"] == "reveal"][-1] == f"{CRED}#ssh-key"
    no_agent = cli.env("ben")
    r = cli.run("ssh-add", CRED, env=no_agent, expect=2)
    assert "SSH_AUTH_SOCK" in r.stderr
