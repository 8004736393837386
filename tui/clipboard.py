"""The local clipboard, where one exists, beside the terminal's own (OSC 52).

OSC 52 reaches the clipboard of the terminal the user sits at, even over SSH, but not every
terminal honours it. When the TUI runs inside a graphical session (Wayland's
`WAYLAND_DISPLAY`, X11's `DISPLAY`, or macOS) and a clipboard tool is on PATH, the value
is also handed to that tool. The value goes to the tool's **stdin**, never its argv or
environment (argv is readable by every user through /proc), and clearing hands it an
empty input, or its own clear option.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass

# Tried in this order: (tool, what it needs, argv to copy stdin, argv to clear or None).
_TOOLS = (
    ("wl-copy", "WAYLAND_DISPLAY", (), ("--clear",)),
    ("xclip", "DISPLAY", ("-selection", "clipboard", "-in"), None),
    ("xsel", "DISPLAY", ("--clipboard", "--input"), ("--clipboard", "--clear")),
    ("pbcopy", "darwin", (), None),
)


@dataclass(frozen=True)
class LocalClipboard:
    name: str
    copy_argv: tuple[str, ...]  # reads the value on stdin
    clear_argv: tuple[str, ...] | None  # None: copy an empty value instead

    @classmethod
    def find(cls, env: Mapping[str, str] | None = None) -> LocalClipboard | None:
        """The first tool whose display is set and that is on PATH, or None."""
        env = os.environ if env is None else env
        for name, needs, copy, clear in _TOOLS:
            present = sys.platform == "darwin" if needs == "darwin" else bool(env.get(needs))
            path = shutil.which(name, path=env.get("PATH")) if present else None
            if path:
                return cls(name, (path, *copy), (path, *clear) if clear else None)
        return None

    def copy(self, value: str) -> bool:
        """Hand `value` to the tool on stdin; False when the tool failed or hung."""
        return _run(self.copy_argv, value.encode())

    def clear(self) -> bool:
        if self.clear_argv is not None:
            return _run(self.clear_argv, b"")
        return self.copy("")


def _run(argv: tuple[str, ...], data: bytes) -> bool:
    # stdout/stderr to /dev/null: xclip and wl-copy leave a child serving the selection,
    # which would hold a pipe open; the tool's messages are not ours to show.
    try:
        done = subprocess.run(
            argv,
            input=data,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0
