"""Issue 20, the first hour: what a newcomer meets between the README and the log."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from custodian.agent.cache import SESSION_ENV
from tests.cli.clikit import (
    ADMIN,
    ADMIN_PASS,
    CANARY,
    CRED,
    SWITCH,
    TECH_PASS,
    Cli,
    clean_env,
    run_in_order,
    run_on_a_terminal,
    run_process,
)

# --- the access log as people read it -------------------------------------------------------


def test_log_table_shows_the_reviewed_columns_and_no_key_material(cli: Cli) -> None:
    cli.run("get", CRED, user="ben")
    table = cli.run("log").stdout.splitlines()
    assert table[0].split() == ["AT", "ACTOR", "ACTION", "OUTCOME", "TARGET", "REASON"]
    assert max(map(len, table)) <= 120, max(table, key=len)
    wide = cli.run("log", "--wide").stdout
    assert "DETAIL" in wide.splitlines()[0]
    every = cli.run("log", "--format", "json").json()
    fingerprints = [
        value
        for e in every
        for value in (e["detail"] or {}).values()
        if isinstance(value, str) and len(value) >= 32
    ]
    assert fingerprints, "the test needs an event whose detail holds key material"
    assert not any(fp in "\n".join(table) for fp in fingerprints)
    assert any(fp in wide for fp in fingerprints)


def test_log_json_carries_detail_as_an_object(cli: Cli) -> None:
    every = cli.run("log", "--format", "json").json()
    details = [e["detail"] for e in every if e["detail"] is not None]
    assert details and all(isinstance(d, dict) for d in details)
    lines = cli.run("log", "--format", "ndjson").stdout.splitlines()
    assert all(isinstance(json.loads(line)["detail"], (dict, type(None))) for line in lines)


def test_a_reveal_refused_for_a_missing_reason_records_that_cause(cli: Cli) -> None:
    r = cli.run("get", SWITCH, user="ben", expect=4)
    assert "requires a reason" in r.stderr
    events = cli.run("log", "--action", "reveal", "--outcome", "denied", "--format", "json").json()
    assert [e["target"] for e in events] == [SWITCH]
    assert "requires a reason" in events[0]["detail"]["error"]


# --- README and CLI ---------------------------------------------------------------------------


def test_unlock_takes_the_passphrase_piped_on_stdin(cli: Cli) -> None:
    env = cli.env("ben")
    del env["CUSTODIAN_PASSPHRASE"]
    r = cli.run("unlock", "--no-agent", input=TECH_PASS + "\n", env=env)
    assert r.stdout.startswith(f"export {SESSION_ENV}=") and TECH_PASS not in r.stderr
    token = r.stdout.strip().partition("=")[2]
    assert cli.run("get", CRED, env={**env, SESSION_ENV: token}).stdout == CANARY + "\n"


def test_unlock_on_a_terminal_without_keyring_says_to_eval_it(cli: Cli) -> None:
    env = cli.env("ben")
    argv = [sys.executable, "-m", "custodian", "unlock", "--no-agent"]
    code, screen = run_on_a_terminal(argv, env, {})
    assert code == 0, screen
    hint = [line for line in screen.decode().splitlines() if "eval" in line]
    assert hint == [
        "custodian: no OS keyring is available here (no Secret Service, Keychain or similar):"
        f" the session is the `export {SESSION_ENV}=...` line below;"
        ' run `eval "$(custodian unlock)"` so that every command uses it'
    ]


def test_global_options_work_after_the_subcommand(cli: Cli, tmp_path: Path) -> None:
    env = cli.env(None)
    del env["CUSTODIAN_DB"]
    db = str(tmp_path / "late" / "vault.db")
    pw = {"CUSTODIAN_PASSPHRASE": ADMIN_PASS}
    cli.run("init", "--admin", "zz", "--db", db, "--kdf-seconds", "0", env={**env, **pw})
    rows = cli.run("tech", "list", "--db", db, "-u", "zz", "--format", "json", env={**env, **pw})
    assert [t["username"] for t in rows.json()] == ["zz"]
    r = cli.run("customer", "list", f"--db={cli.db}", "--user", ADMIN, env={**env, **pw})
    assert "acme" in r.stdout


def test_init_with_two_different_passphrases_asks_again_then_leaves_nothing(
    tmp_path: Path,
) -> None:
    env = clean_env(str(tmp_path / "new" / "vault.db"), tmp_path)
    argv = [sys.executable, "-m", "custodian", "init", "--admin", "zz", "--kdf-seconds", "0"]
    first, second = b"Passphrase for zz: ", b"Repeat passphrase for zz: "
    code, screen = run_in_order(argv, env, [(first, b"one passphrase"), (second, b"another")] * 3)
    text = screen.decode()
    assert code == 2, text
    assert text.count("the two entries of the passphrase for zz differ; try again") == 2
    assert "the two entries of the passphrase for zz differed 3 times" in text
    assert not (tmp_path / "new").exists()

    answers = [(first, b"one passphrase"), (second, b"typo"), (first, b"zz passphrase")]
    code, screen = run_in_order(argv, env, [*answers, (second, b"zz passphrase")])
    assert code == 0, screen
    assert (tmp_path / "new" / "vault.db").exists()


def test_a_file_that_is_not_a_vault_is_named_as_such(cli: Cli, tmp_path: Path) -> None:
    other = tmp_path / "notes.db"
    other.write_bytes(b"not a database, just notes\n" * 200)
    env = cli.env(ADMIN, CUSTODIAN_DB=str(other))
    r = cli.run("tech", "list", env=env, expect=2)
    assert r.stderr == f"custodian: {other} is not a custodian vault (not an SQLite database)\n"


def quick_start_block() -> str:
    """The first ```sh block after the README's "Quick start with the CLI" heading."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Quick start with the CLI") :]
    start = section.index("```sh\n") + len("```sh\n")
    return section[start : section.index("```\n", start)]


def test_the_readme_quick_start_runs_as_written(tmp_path: Path) -> None:
    """The block in a bash on a terminal, with a fresh HOME, no OS keyring and passphrases
    typed at the prompts, as the README says. Bob's `get` must produce the secret."""
    home, runtime = tmp_path / "home", tmp_path / "run"
    home.mkdir()
    runtime.mkdir(mode=0o700)
    env = clean_env("", runtime)
    del env["CUSTODIAN_DB"]
    bin_dir = str(Path(sys.executable).parent)  # where `custodian` is installed
    env.update(HOME=str(home), PATH=bin_dir + os.pathsep + env.get("PATH", ""))
    script = f'set -e\n{quick_start_block()}\nprintf "PW=%s\\n" "$PW"\n'
    answers = [
        (b"Passphrase for alice: ", ALICE_PASS),  # init
        (b"Repeat passphrase for alice: ", ALICE_PASS),
        (b"Passphrase for alice: ", ALICE_PASS),  # unlock
        (b"Initial passphrase for bob: ", BOB_PASS),  # tech add
        (b"Repeat initial passphrase for bob: ", BOB_PASS),
        (b"Passphrase for bob: ", BOB_PASS),  # unlock
    ]
    try:
        code, screen = run_in_order(["/bin/bash", "-c", script], env, answers)
    finally:
        for user in ("alice", "bob"):  # end the agents `unlock` started
            run_process(
                ["lock"],
                {**env, "CUSTODIAN_DB": str(home / "msp" / "vault.db"), "CUSTODIAN_USER": user},
            )
    text = screen.decode(errors="replace").replace("\r\n", "\n")
    assert code == 0, text
    assert "Passphrase for alice: " in text and text.count("Passphrase for alice: ") == 2
    pw = next(line for line in text.splitlines() if line.startswith("PW="))[3:]
    assert len(pw) >= 16, text  # a generated secret
    events = json.loads(text[text.index("[\n") : text.rindex("]") + 1])
    assert [(e["actor"], e["action"], e["outcome"], e["reason"]) for e in events][-1] == (
        "bob",
        "reveal",
        "ok",
        "TICKET-4711",
    )


README = Path(__file__).resolve().parents[2] / "README.md"
ALICE_PASS, BOB_PASS = b"alice's passphrase", b"bob's first passphrase"
