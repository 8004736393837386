"""The real `custodian serve` process, for the load test and the server benchmark.

- `ServerProcess(db, log, args=...)`: `python -m custodian --db DB serve --listen
  127.0.0.1:PORT --quiet ARGS` on a free loopback port; `start()` waits for `/health`,
  `kill()` ends it by PID (SIGKILL: a crash, nothing flushed), `stop()` asks it to end
  (SIGTERM), and `start()` again serves on the same port. The tests and benchmarks stop
  it by PID, never by name.
- `free_port()`, `process_cpu(pid)`: a free loopback port; a process's CPU seconds so far.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ServerProcess:
    """One `custodian serve` on the vault database `db`, its stderr appended to `log`."""

    def __init__(
        self, db: str, log: Path, port: int | None = None, args: tuple[str, ...] = ()
    ) -> None:
        self.db, self.log, self.args = db, log, args
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def __repr__(self) -> str:
        return f"ServerProcess({self.url!r}, pid={self.pid})"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self) -> ServerProcess:
        """Start the server (again, on the same port) and wait until it answers."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODIAN_")}
        argv = [sys.executable, "-m", "custodian", "--db", self.db, "serve"]
        argv += ["--listen", f"127.0.0.1:{self.port}", "--quiet", *self.args]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
        self.starts += 1
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"custodian serve did not come up: see {self.log}")
            time.sleep(0.02)

    def kill(self) -> None:
        """End it at once (SIGKILL), as a crash would."""
        self._end(signal.SIGKILL)

    def stop(self) -> None:
        """Ask it to end (SIGTERM); SIGKILL if it has not within 20 seconds."""
        self._end(signal.SIGTERM)

    def _end(self, sig: signal.Signals) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=20)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
