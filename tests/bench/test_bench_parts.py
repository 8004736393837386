"""The benchmarks keep working."""

from __future__ import annotations

import os
import shutil
import sys

import pytest
from benchmarks import bench_tui


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_tui_timing_in_tmux_survives_a_command_that_quits_at_once():
    """Issue 23: a TUI that quit within the fixed 0.5 s sleep took tmux's only pane, window,
    session and server with it, and the next run's `respawn-pane` failed. This command
    quits the instant ctrl+q arrives."""
    quits_at_once = (
        f"{sys.executable} -c 'import sys, tty; tty.setraw(0);"
        ' print("Customer 0", flush=True); sys.stdin.read(1)\''
    )
    env = {**os.environ, "TERM": "xterm-256color"}
    assert len(bench_tui.time_in_tmux(quits_at_once, env, 3, "Customer 0")) == 3
