"""Copy to the local clipboard (beside OSC 52): the value reaches the tool on stdin, never
argv, and is cleared after the configured time, on lock and on quit.

Two real set-ups: a real X server (Xvfb) with the real `xclip`, read back with
`xclip -o`; and, everywhere, a real executable named `xclip` first on PATH that records
its argv and stdin to files, which pins the exact command line the app runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest

from custodian_tui.clipboard import LocalClipboard
from tests.tui.test_technician import SIZE, open_home_row

SECRET = "pw-globex-hp-4050"
RECORDER = """#!/bin/sh
# Records each call: calls/N.argv (one argument per line) and calls/N.stdin.
dir="$(dirname "$0")/calls"
mkdir -p "$dir"
n=$(ls "$dir" | grep -c argv)
printf '%s\\n' "$@" > "$dir/$n.argv"
cat > "$dir/$n.stdin"
exit ${RECORDER_EXIT:-0}
"""


@pytest.fixture
def recorder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A recording `xclip` first on PATH and an X display set; its calls directory."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "xclip"
    tool.write_text(RECORDER)
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DISPLAY", ":97")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    return bin_dir / "calls"


def _calls(calls: Path) -> list[tuple[list[str], str]]:
    count = len(list(calls.glob("*.argv"))) if calls.exists() else 0
    return [
        ((calls / f"{n}.argv").read_text().split("\n")[:-1], (calls / f"{n}.stdin").read_text())
        for n in range(count)
    ]


def _flush(app) -> None:  # type: ignore[no-untyped-def]
    """Wait for the clipboard thread's queue (copies and clears run there, in order)."""
    app._clip_thread.submit(lambda: None).result(timeout=10)


async def _copy_printer_password(app, pilot) -> None:  # type: ignore[no-untyped-def]
    """Press `c` on globex's printer credential and wait until the copy has run."""
    await open_home_row(app, pilot, "globex/hp-4050/admin")
    await pilot.press("c")
    await app.workers.wait_for_complete()
    await pilot.pause()
    _flush(app)


def test_the_tool_is_found_only_with_a_display(recorder: Path) -> None:
    bin_dir = str(recorder.parent)
    assert LocalClipboard.find({"PATH": bin_dir}) is None  # over plain SSH: OSC 52 only
    found = LocalClipboard.find({"PATH": bin_dir, "DISPLAY": ":1"})
    assert found is not None and found.name == "xclip"
    assert found.copy_argv == (str(recorder.parent / "xclip"), "-selection", "clipboard", "-in")
    assert LocalClipboard.find({"PATH": bin_dir, "WAYLAND_DISPLAY": "wayland-0"}) is None


@pytest.mark.asyncio
async def test_copy_reaches_the_tool_on_stdin_and_is_cleared(app_for, demo, recorder):
    app = app_for("alice", unlocked=True, local_clipboard=True)
    assert app.local_clipboard is not None and app.local_clipboard.name == "xclip"
    async with app.run_test(size=SIZE) as pilot:
        await _copy_printer_password(app, pilot)
        [(argv, stdin)] = _calls(recorder)
        assert stdin == SECRET and argv == ["-selection", "clipboard", "-in"]
        demo.clock.advance(app.config.clipboard_for)
        app.tick()
        _flush(app)
        assert _calls(recorder)[1] == (["-selection", "clipboard", "-in"], "")
        # copied again, then locked: cleared at once
        app.copy_secret(app.session.reveal("globex/hp-4050/admin"), "it")
        app.lock()
        await pilot.pause()
        _flush(app)
        assert [stdin for _, stdin in _calls(recorder)[2:]] == [SECRET, ""]
    assert not any(SECRET in " ".join(argv) for argv, _ in _calls(recorder))


@pytest.mark.asyncio
async def test_a_failing_tool_is_reported_and_osc52_still_copies(app_for, recorder, monkeypatch):
    monkeypatch.setenv("RECORDER_EXIT", "1")
    app = app_for("alice", unlocked=True, local_clipboard=True)
    async with app.run_test(size=SIZE) as pilot:
        await _copy_printer_password(app, pilot)
        await pilot.pause()
        assert app.clipboard == SECRET
        assert any(
            "the local clipboard (xclip) failed" in str(n.message) for n in app._notifications
        )


@pytest.fixture
def x_display(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A real X server (Xvfb) on a free display number, stopped by PID afterwards."""
    if not (shutil.which("Xvfb") and shutil.which("xclip")):
        pytest.skip("needs Xvfb and xclip (apt-get install -y xvfb xclip)")
    for number in range(90, 140):
        if (
            not Path(f"/tmp/.X11-unix/X{number}").exists()
            and not Path(f"/tmp/.X{number}-lock").exists()
        ):
            break
    proc = subprocess.Popen(
        ["Xvfb", f":{number}", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while not Path(f"/tmp/.X11-unix/X{number}").exists():
            assert proc.poll() is None and time.monotonic() < deadline, "Xvfb did not start"
            time.sleep(0.05)
        monkeypatch.setenv("DISPLAY", f":{number}")
        monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _x_clipboard() -> str:
    return subprocess.run(
        ["xclip", "-selection", "clipboard", "-o"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    ).stdout


@pytest.mark.asyncio
async def test_real_x_clipboard_holds_the_secret_then_nothing(app_for, demo, x_display):
    app = app_for("alice", unlocked=True, local_clipboard=True)
    assert app.local_clipboard is not None and app.local_clipboard.name == "xclip"
    async with app.run_test(size=SIZE) as pilot:
        await _copy_printer_password(app, pilot)
        assert _x_clipboard() == SECRET
        demo.clock.advance(app.config.clipboard_for - timedelta(seconds=1))
        app.tick()
        _flush(app)
        assert _x_clipboard() == SECRET
        demo.clock.advance(timedelta(seconds=1))
        app.tick()
        _flush(app)
        assert _x_clipboard() == ""
