"""The database fails under an operation: writes fail with one clear line and a
non-zero exit, change nothing, and reveals fail closed (no value printed when the
access event cannot be written).

- PostgreSQL: the backend running the command is terminated (`pg_terminate_backend`)
  while the command is inside its transaction: the test holds the access log's head row
  locked, so the command waits there with its writes done but not committed.
- SQLite, disk full: the vault on a small tmpfs filled to the last byte (needs root to
  mount; skipped otherwise), and `PRAGMA max_page_count` (a database that may not grow).
- SQLite, read-only: the vault's directory bind-mounted read-only (root), else chmod.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.cli.clikit import Result, check_streams, run_process
from tests.conftest import PG_ADMIN_DSN, VaultKit

PG = [pytest.param("postgres", marks=pytest.mark.postgres)]
SQLITE = ["sqlite"]
PATH = "acme/dc01/admin"
VICTIM = "custodian-fault-victim"


def _state(vault: VaultKit) -> list[object]:
    """What a half-written change would alter."""
    return [
        vault.sql("SELECT credential_id, version, key_version FROM secret_version ORDER BY 1, 2"),
        vault.sql("SELECT id, current_version FROM credential ORDER BY id"),
        vault.sql("SELECT customer_id, version FROM customer_key ORDER BY 1, 2"),
        vault.sql(
            "SELECT customer_id, key_version, recipient_kind, recipient_id FROM key_wrap"
            " ORDER BY 1, 2, 3, 4"
        ),
        vault.sql('SELECT technician_id, customer_id FROM "grant" ORDER BY 1, 2'),
        vault.sql("SELECT seq FROM access_event ORDER BY seq"),
        vault.sql("SELECT id, name FROM system ORDER BY id"),
    ]


def _setup(vault: VaultKit) -> None:
    vault.customer("acme")
    vault.tech("bob")
    vault.admin.grant("admin", "acme")
    vault.admin.grant("bob", "acme")


def _command(op: str, folder: Path) -> tuple[list[str], str | None]:
    if op == "set":
        return ["cred", "set", PATH], "new-value\n"
    if op == "get":
        return ["get", PATH], None
    if op == "revoke":
        return ["revoke", "bob", "acme"], None
    csv = folder / "import.csv"
    csv.write_text("System,Name,Password\nimported,user1,pw-1\nimported,user2,pw-2\n")
    return [
        "import",
        "csv",
        str(csv),
        "--customer",
        "acme",
        "--columns",
        "system=System,name=Name,password=Password",
    ], None


def _env(db: str, tmp: Path) -> dict[str, str]:
    from tests.cli.clikit import clean_env
    from tests.conftest import ADMIN, PASS

    runtime = tmp / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = clean_env(db, runtime)
    env.update(CUSTODIAN_USER=ADMIN, CUSTODIAN_PASSPHRASE=PASS)
    return env


def _run(args: list[str], stdin: str | None, env: dict[str, str]) -> Result:
    proc = run_process(args, env, stdin)
    result = Result(tuple(args), proc.returncode, proc.stdout, proc.stderr)
    check_streams(result)  # no traceback; a failure is one `custodian: ...` line
    return result


# --- PostgreSQL: the connection dropped mid-transaction ---------------------------------


@pytest.mark.parametrize("backend", PG)
@pytest.mark.parametrize("op", ["set", "get", "revoke", "import"])
def test_connection_dropped_mid_transaction_fails_cleanly(vault, op, tmp_path):
    _setup(vault)
    before = _state(vault)
    dbname = vault.url.rsplit("/", 1)[1]
    args, stdin = _command(op, tmp_path)
    env = _env(f"{vault.url}?application_name={VICTIM}", tmp_path)
    env["CUSTODIAN_DEBUG"] = "1"  # an unexpected exception would show its traceback
    with psycopg.connect(PG_ADMIN_DSN.replace("dbname=postgres", f"dbname={dbname}")) as hold:
        hold.execute("SELECT seq FROM log_head WHERE id = 1 FOR UPDATE")  # appends wait
        proc = subprocess.Popen(
            [sys.executable, "-m", "custodian", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
        try:
            assert proc.stdin is not None
            proc.stdin.write(stdin or "")
            proc.stdin.close()
            pid = _waiting_backend(dbname, proc)
            with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
                assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
            proc.stdin = None  # closed above: communicate() only reads
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        hold.rollback()
    result = Result(tuple(args), proc.returncode, out, err)
    check_streams(result)
    assert result.code == 1, result
    assert "database" in result.stderr and "connection" in result.stderr, result.stderr
    assert out == "", "nothing may be printed: a reveal fails closed"
    assert _state(vault) == before  # nothing half-written
    assert vault.admin.reveal(PATH).reveal() == vault.secret  # and the vault works on


def _waiting_backend(dbname: str, proc: subprocess.Popen[str]) -> int:
    """The pid of the command's backend once it waits, inside its transaction, for the
    log head lock."""
    deadline = time.monotonic() + 90
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            row = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name = %s"
                " AND wait_event_type = 'Lock' AND state = 'active'",
                (dbname, VICTIM),
            ).fetchone()
            if row:
                return int(row[0])
            time.sleep(0.05)
    raise AssertionError("the command never waited for the log head")


# --- SQLite: disk full, read-only --------------------------------------------------------


def _as_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")


@contextlib.contextmanager
def _mounted(folder: Path, *options: str) -> Iterator[None]:
    folder.mkdir(exist_ok=True)
    subprocess.run(["mount", *options, str(folder)], check=True, capture_output=True)
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True, capture_output=True)


def _fill(folder: Path) -> Path:
    """Write zeros until the file system is full; returns the filler."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as out, contextlib.suppress(OSError):
        while True:
            out.write(b"\0" * 4096)
    return filler


def _counts(db: Path) -> tuple[int, int, int]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return tuple(
            conn.execute(  # type: ignore[return-value]
                "SELECT (SELECT count(*) FROM secret_version), (SELECT count(*) FROM access_event),"
                " (SELECT max(current_version) FROM credential)"
            ).fetchone()
        )


def _copy_closed(vault: VaultKit, to: Path) -> Path:
    """The vault's database file, copied once every connection is closed (no WAL)."""
    vault.vault.close()
    src = Path(vault.url.removeprefix("sqlite:///"))
    shutil.copyfile(src, to / "vault.db")
    return to / "vault.db"


@pytest.mark.parametrize("backend", SQLITE)
def test_disk_full_fails_writes_cleanly_and_reveals_closed(vault, tmp_path):
    _as_root()
    _setup(vault)
    disk = tmp_path / "disk"
    with _mounted(disk, "-t", "tmpfs", "-o", "size=4m", "tmpfs"):
        db = _copy_closed(vault, disk)
        env = _env(str(db), tmp_path)
        assert _run(["cred", "list"], None, env).code == 0  # WAL and shm files exist now
        before = _counts(db)
        filler = _fill(disk)
        wrote = _run(["cred", "set", PATH], "new-value\n", env)
        # SQLite says "database or disk is full", or "disk I/O error" when even its WAL
        # file cannot be created: either way one line naming the cause.
        assert wrote.code == 1, wrote
        assert "full" in wrote.stderr or "disk I/O error" in wrote.stderr, wrote
        shown = _run(["get", PATH], None, env)
        assert shown.code != 0 and shown.stdout == "", shown  # fail closed
        assert vault.secret not in shown.stderr
        filler.unlink()
        assert _counts(db) == before  # nothing half-written
        assert _run(["get", PATH], None, env).stdout == vault.secret + "\n"  # works again


@pytest.mark.parametrize("backend", SQLITE)
def test_read_only_database_fails_writes_cleanly_and_reveals_closed(vault, tmp_path):
    _setup(vault)
    folder = tmp_path / "ro"
    folder.mkdir()
    db = _copy_closed(vault, folder)
    before = _counts(db)
    env = _env(str(db), tmp_path)
    if os.geteuid() == 0:  # root ignores file modes: a read-only bind mount instead
        guard = _mounted(folder, "--bind", "-o", "ro", str(folder))
    else:
        guard = _chmod_read_only(folder, db)
    with guard:
        with pytest.raises(OSError):
            (folder / "probe").write_text("x")  # really read-only
        wrote = _run(["cred", "set", PATH], "new-value\n", env)
        assert wrote.code != 0 and wrote.stderr.startswith("custodian: "), wrote
        shown = _run(["get", PATH], None, env)
        assert shown.code != 0 and shown.stdout == "", shown  # fail closed
    assert _counts(db) == before
    assert _run(["get", PATH], None, env).stdout == vault.secret + "\n"


@contextlib.contextmanager
def _chmod_read_only(folder: Path, db: Path) -> Iterator[None]:
    db.chmod(0o400)
    folder.chmod(0o500)
    try:
        yield
    finally:
        folder.chmod(0o700)
        db.chmod(0o600)
