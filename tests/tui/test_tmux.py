"""`custodian tui` as a real process in a real terminal (tmux): type the passphrase,
search, and read the screen back with capture-pane."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import PASS

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
TIMEOUT = 60.0


class Tmux:
    def __init__(self, socket: Path) -> None:
        self.socket = socket

    def run(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-S", str(self.socket), *args], check=True, capture_output=True, text=True
        ).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "tui")

    def wait_for(self, text: str, *, gone: str | None = None) -> str:
        """Poll the pane until `text` shows (and `gone` no longer does)."""
        deadline = time.monotonic() + TIMEOUT
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen and (gone is None or gone not in screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never showed; the screen was:\n{screen}")


def test_custodian_tui_in_tmux_unlocks_and_searches(demo, tmp_path):
    bin_dir = Path(sys.executable).parent
    env = {
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(tmp_path),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "XDG_RUNTIME_DIR": str(tmp_path / "run"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "CUSTODIAN_DB": demo.url,
        "CUSTODIAN_USER": "alice",
    }
    (tmp_path / "run").mkdir(mode=0o700)
    tmux = Tmux(tmp_path / "tmux.sock")
    command = f"{bin_dir / 'custodian'} tui; echo TUI-EXITED-$?; sleep 30"
    subprocess.run(
        [
            "tmux",
            "-S",
            str(tmux.socket),
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "tui",
            "-x",
            "120",
            "-y",
            "40",
            command,
        ],
        check=True,
        env=env,
    )
    try:
        tmux.wait_for("Passphrase")
        tmux.run("send-keys", "-t", "tui", "-l", PASS)
        tmux.run("send-keys", "-t", "tui", "Enter")
        screen = tmux.wait_for("All customers")
        assert "alice (technician)" in screen
        assert "acme" in screen and "globex" in screen
        assert "initech" not in screen.lower()  # no grant: not even the name
        tmux.run("send-keys", "-t", "tui", "-l", "edge rtr")
        tmux.wait_for("1 credential", gone="sql01")
        # the count can paint a frame before the rows: wait for the rows, then check them
        screen = tmux.wait_for("edge-rtr", gone="core-sw")
        assert "edge-rtr" in screen and "core-sw" not in screen and "1 credential" in screen
        tmux.run("send-keys", "-t", "tui", "C-q")
        screen = tmux.wait_for("TUI-EXITED-0")
        assert "Traceback" not in screen
    finally:
        subprocess.run(["tmux", "-S", str(tmux.socket), "kill-server"], capture_output=True)
