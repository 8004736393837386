"""A locked bundle goes only to a client that proves the passphrase (service/served_login.py):
nobody who merely reaches the server can fetch one and guess offline. Spoken raw, as an
attacker would, and through the CLI, as a member does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from custodian.service import passphrase_proof
from tests.cli.clikit import TECH_PASS, Cli
from tests.server.serverkit import Served, http_client, start_server, unlock_member, via_server


@pytest.fixture
def server(cli: Cli, tmp_path: Path) -> Iterator[Served]:
    served = start_server(cli, tmp_path)  # its own: the tests count failures
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture
def http(server: Served) -> Iterator[httpx.Client]:
    with http_client(server.url) as client:
        yield client


def failed_unlocks(cli: Cli, user: str) -> int:
    ((count,),) = cli.sql(
        "SELECT count(*) FROM access_event WHERE action = 'unlock' AND outcome = 'failed'"
        " AND actor = ?",
        (user,),
    )
    return int(count)


def proof_body(http: httpx.Client, user: str, passphrase: str) -> dict[str, str]:
    asked = http.post("/v1/login/challenge", json={"user": user}).json()
    _, proof = passphrase_proof(
        asked["technician_id"],
        user,
        bytes.fromhex(asked["lock"]),
        passphrase,
        bytes.fromhex(asked["challenge"]),
    )
    return {"user": user, "challenge": asked["challenge"], "proof": proof.hex()}


def test_the_bundle_needs_a_proof_and_a_wrong_one_is_a_counted_failure(
    cli: Cli, http: httpx.Client
) -> None:
    before = failed_unlocks(cli, "ben")
    for body in (
        {"user": "ben"},  # no proof: what an offline guesser would ask for
        proof_body(http, "ben", "not ben's passphrase"),
    ):
        answer = http.post("/v1/login/key", json=body)
        assert answer.status_code == 401, answer.text
        assert "locked" not in answer.text
    assert failed_unlocks(cli, "ben") == before + 2  # counted and logged by the server
    right = http.post("/v1/login/key", json=proof_body(http, "ben", TECH_PASS))
    assert right.status_code == 200 and right.json()["locked"]
    member = unlock_member(http, "ben", TECH_PASS)  # the bundle opens with the same key
    assert member.username == "ben"


def test_an_unknown_account_answers_like_a_known_one(http: httpx.Client) -> None:
    """The challenge names no account: an unknown name gets a lock header too, the same
    every time, and its proof fails like a wrong passphrase."""
    known = http.post("/v1/login/challenge", json={"user": "ben"}).json()
    ghost = http.post("/v1/login/challenge", json={"user": "nobody-here"}).json()
    assert set(ghost) == set(known)
    assert len(ghost["lock"]) == len(known["lock"])
    again = http.post("/v1/login/challenge", json={"user": "nobody-here"}).json()
    assert (again["lock"], again["technician_id"]) == (ghost["lock"], ghost["technician_id"])
    answer = http.post("/v1/login/key", json=proof_body(http, "nobody-here", "guess"))
    assert answer.status_code == 401 and "locked" not in answer.text


def test_an_account_without_a_verifier_registers_one_at_its_next_login(
    cli: Cli, server: Served, http: httpx.Client
) -> None:
    """A bundle locked before the verifier existed goes out without a proof once; the
    member's client registers the verifier, and from then on the proof is required."""
    cli.sql("UPDATE technician SET login_key = NULL WHERE username = 'ben'")
    assert http.post("/v1/login/key", json={"user": "ben"}).status_code == 200
    assert "lock" not in http.post("/v1/login/challenge", json={"user": "ben"}).json()
    r = cli.run("whoami", user="ben", env=server.env("ben"))
    assert r.stdout.startswith("ben\t")
    ((kept,),) = cli.sql("SELECT login_key FROM technician WHERE username = 'ben'")
    assert kept is not None and len(bytes(kept)) == 32
    assert http.post("/v1/login/key", json={"user": "ben"}).status_code == 401
    r = cli.run("whoami", user="ben", env=server.env("ben"))  # the proof path now
    assert r.stdout.startswith("ben\t")


def test_a_database_unlock_sets_a_missing_verifier(cli: Cli) -> None:
    cli.sql("UPDATE technician SET login_key = NULL WHERE username = 'ben'")
    cli.run("whoami", user="ben")  # against the database: it unlocks with the passphrase
    ((kept,),) = cli.sql("SELECT login_key FROM technician WHERE username = 'ben'")
    assert kept is not None and len(bytes(kept)) == 32


def test_a_wrong_passphrase_through_the_cli_is_exit_5_and_counted_once(
    cli: Cli, server: Served
) -> None:
    before = failed_unlocks(cli, "ben")
    env = via_server(cli, server.url, "ben", "a wrong passphrase")
    r = cli.run("get", "acme/dc01/administrator", user="ben", expect=5, env=env)
    assert "authentication failed" in r.stderr and r.stdout == ""
    assert failed_unlocks(cli, "ben") == before + 1
