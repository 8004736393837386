"""A lying server is refused like a lying database: exit 6, and no value printed.

Each test puts a tampering proxy (proxykit.py) between `get` and the real server and
makes it tell one lie a compromised or rolled-back server could tell. The control test
shows the proxy itself changes nothing when it tells none.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from custodian.crypto import KeyPair, PublicKey, seal
from custodian.service.keys import wrap_context
from tests.cli.clikit import CANARY, CRED, SA, Result, run_process
from tests.server.proxykit import Proxy
from tests.server.serverkit import Served, via_server

ROLLED = "acme/dc01/rolled"  # two versions: "rolled-v1", then "rolled-v2"
HASH = 12  # an event's hash in the wire's event list (wire.event_out)
DETAIL = 10
STALL_TIMEOUT = 12  # seconds: a get takes a few, even on a busy machine


@pytest.fixture(scope="module")
def vault(sqlite_served: Served) -> Served:
    cli = sqlite_served.cli
    cli.run("cred", "add", ROLLED, "--username", "r", input="rolled-v1\n")
    cli.run("cred", "set", ROLLED, input="rolled-v2\n")
    return sqlite_served


@pytest.fixture
def proxy(vault: Served) -> Iterator[Proxy]:
    proxy = Proxy(vault.url)
    try:
        yield proxy
    finally:
        proxy.close()
    assert proxy.errors == []  # every edit did what it meant to


def get_via(
    vault: Served, proxy: Proxy, path: str = CRED, *, expect: int | None = 6, says: str = ""
) -> Result:
    """`get PATH` as ben through the proxy; refused (exit 6, nothing on stdout, the
    refusal `says` why) unless `expect` is 0."""
    env = via_server(vault.cli, proxy.url, "ben")
    r = vault.cli.run("get", path, user="ben", expect=expect, env=env)
    if expect:
        assert r.stdout == "", r
        assert CANARY not in r.stderr
        assert says in r.stderr, r.stderr
    return r


def events(answer: dict[str, Any]) -> list[list[Any]]:
    found: list[list[Any]] = answer["events"]
    assert len(found) >= 5, "the lie needs a few events to work with"
    return found


def test_an_honest_proxy_changes_nothing(vault: Served, proxy: Proxy) -> None:
    assert get_via(vault, proxy, expect=0).stdout == CANARY + "\n"
    assert get_via(vault, proxy, ROLLED, expect=0).stdout == "rolled-v2\n"  # its head kept


def test_an_older_log_at_login_and_the_rest_at_prepare_is_consistent(
    vault: Served, proxy: Proxy
) -> None:
    """The control of the prepare lie below: the edit alone is not refused."""
    proxy.on_answer("/v1/log", older_log)
    assert get_via(vault, proxy, expect=0).stdout == CANARY + "\n"
    prepared = [a for p, a in proxy.answers if p == "/v1/reveal/prepare"]
    assert len(prepared[0]["events"]) >= 4


def older_log(request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """The log as it was four events ago, consistent with itself."""
    kept = events(answer)[:-4]
    return {"events": kept, "head": {"seq": kept[-1][0], "hash": kept[-1][HASH]}}


def test_an_event_dropped_from_the_log_is_refused(vault: Served, proxy: Proxy) -> None:
    def drop(request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        del events(answer)[len(answer["events"]) // 2]
        return answer

    proxy.on_answer("/v1/log", drop)
    get_via(vault, proxy, says="does not link")


def test_an_event_dropped_from_a_prepared_reveal_is_refused(vault: Served, proxy: Proxy) -> None:
    def drop(request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        del answer["events"][2]
        return answer

    proxy.on_answer("/v1/log", older_log)  # so that prepare carries events
    proxy.on_answer("/v1/reveal/prepare", drop)
    get_via(vault, proxy, says="does not link")
    assert not [p for p, _ in proxy.answers if p == "/v1/reveal"]  # nothing was signed


def test_two_events_swapped_are_refused(vault: Served, proxy: Proxy) -> None:
    def swap(request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        found, i = events(answer), len(answer["events"]) // 2
        found[i], found[i + 1] = found[i + 1], found[i]
        return answer

    proxy.on_answer("/v1/log", swap)
    get_via(vault, proxy, says="does not link")


@pytest.mark.parametrize("column", [DETAIL, HASH], ids=["detail", "hash"])
def test_an_event_changed_by_one_character_is_refused(
    vault: Served, proxy: Proxy, column: int
) -> None:
    def change(request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        found = events(answer)
        event = next(e for e in found[2:-1] if e[column])  # one in the middle
        value: str = event[column]
        i = len(value) // 2
        event[column] = value[:i] + ("0" if value[i] != "0" else "1") + value[i + 1 :]
        return answer

    proxy.on_answer("/v1/log", change)
    get_via(vault, proxy, says="does not match its hash")


def test_an_older_version_served_as_the_current_one_is_refused(vault: Served, proxy: Proxy) -> None:
    def roll_back(body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "version": 1}  # the server answers, honestly, for version 1

    proxy.on_request("/v1/reveal/prepare", roll_back)
    proxy.on_request("/v1/reveal", roll_back)
    r = get_via(vault, proxy, ROLLED, says="rolled back")
    assert "rolled-v1" not in r.stderr
    prepared = [a for p, a in proxy.answers if p == "/v1/reveal/prepare"]
    assert prepared[0]["target"]["version"] == 1  # the lie was told
    assert not [p for p, _ in proxy.answers if p == "/v1/reveal"]


def sealed_of(vault: Served, path: str) -> str:
    """The current version's payload of `path`, as the database holds it (hex)."""
    system, name = path.split("/")[1:]
    rows = vault.cli.sql(
        "SELECT v.ciphertext FROM secret_version v JOIN credential c ON c.id = v.credential_id"
        " JOIN system s ON s.id = c.system_id WHERE s.name = ? AND c.name = ?"
        " ORDER BY v.version DESC",
        (system, name),
    )
    return bytes(rows[0][0]).hex()


def test_another_credentials_payload_is_refused(vault: Served, proxy: Proxy) -> None:
    other = sealed_of(vault, SA)  # acme's key opens it, in its own context only
    proxy.on_answer("/v1/reveal", lambda _, answer: {**answer, "sealed": other})
    get_via(vault, proxy, says="failed to verify")


def test_a_wrap_of_a_key_the_directory_does_not_hold_is_refused(
    vault: Served, proxy: Proxy
) -> None:
    """The server wraps a key of its own to ben, correctly: it opens, and the key
    directory says it is not acme's."""
    ((ben, public),) = vault.cli.sql("SELECT id, public_key FROM technician WHERE username = 'ben'")
    forged: dict[tuple[int, int], str] = {}  # one wrap, the same in both answers

    def substitute(request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        target = answer["target"]
        slot = (target["customer_id"], target["key_version"])
        if slot not in forged:
            ctx = wrap_context(*slot, "technician", ben)
            key = KeyPair.generate().private_bytes()
            forged[slot] = seal(key, PublicKey(bytes(public)), ctx).hex()
        return {**answer, "target": {**target, "wrapped": forged[slot]}}

    proxy.on_answer("/v1/reveal/prepare", substitute)
    proxy.on_answer("/v1/reveal", substitute)
    get_via(vault, proxy, says="not the one in the key directory")


def test_another_vault_id_at_login_is_refused(vault: Served, proxy: Proxy) -> None:
    proxy.on_answer("/v1/login/challenge", lambda _, a: {**a, "vault_id": str(uuid.uuid4())})
    get_via(vault, proxy, says="another vault")
    assert not [p for p, _ in proxy.answers if p == "/v1/login"]  # it never signed


def test_a_log_head_older_than_the_one_verified_is_refused(vault: Served, proxy: Proxy) -> None:
    get_via(vault, proxy, expect=0)  # honest: the client keeps the head it verified
    seen = [e for path, a in proxy.answers if path == "/v1/log" for e in a["events"]]
    old = seen[-3]

    def roll_back(request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        return {
            "events": [e for e in answer["events"] if e[0] <= old[0]],
            "head": {"seq": old[0], "hash": old[HASH]},
        }

    proxy.on_answer("/v1/log", roll_back)
    get_via(vault, proxy, says="is gone from the log")


# --- lies these tests found first (each failed before its fix) ----------------------------


def test_a_log_page_that_never_advances_is_refused(vault: Served, proxy: Proxy) -> None:
    def stall(request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        first = events(answer)[0]  # only the event the client starts from, again and again
        return {"events": [first], "head": {"seq": first[0] + 1, "hash": "00" * 32}}

    proxy.on_answer("/v1/log", stall)
    env = via_server(vault.cli, proxy.url, "ben")
    try:
        done = run_process(("get", CRED), env, timeout=STALL_TIMEOUT)
    except subprocess.TimeoutExpired:
        asked = len([p for p, _ in proxy.requests if p == "/v1/log"])
        pytest.fail(
            f"get still runs after {STALL_TIMEOUT} s, having asked for the log {asked} times"
        )
    assert done.returncode == 6
    assert done.stdout == ""


def test_a_reveal_time_far_from_the_clients_clock_is_not_signed(
    vault: Served, proxy: Proxy
) -> None:
    backdated = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    proxy.on_answer("/v1/reveal/prepare", lambda _, a: {**a, "at": backdated})
    r = get_via(vault, proxy, expect=None)
    signed = [body for path, body in proxy.requests if path == "/v1/reveal"]
    assert signed == [], f"the client signed a reveal dated {signed[0]['at']}"
    assert r.code == 6


# --- the path a credential has in the log ------------------------------------------------


def test_another_credential_of_the_same_customer_is_refused(vault: Served, proxy: Proxy) -> None:
    """Asked for CRED, the server prepares SA (acme's too) and returns its payload."""
    proxy.on_request("/v1/reveal/prepare", lambda body: {**body, "path": SA})
    other = sealed_of(vault, SA)

    def payload(body: dict[str, Any]) -> dict[str, Any]:
        prepared = [a for p, a in proxy.answers if p == "/v1/reveal/prepare"][-1]
        return {"target": prepared["target"], "sealed": other}

    proxy.answer_instead("/v1/reveal", payload)
    r = get_via(vault, proxy, expect=None)
    assert r.stdout == "", "get printed another credential's value as the one asked for"
    assert r.code == 6


def test_a_write_prepared_for_another_credential_is_not_signed(vault: Served, proxy: Proxy) -> None:
    """`cred set CRED`: the server prepares SA's next version instead; the client seals
    and signs nothing, and neither credential gets a version."""
    versions = "SELECT count(*) FROM secret_version"
    before = vault.cli.sql(versions)
    proxy.on_request("/v1/write/prepare", lambda body: {**body, "path": SA})
    env = via_server(vault.cli, proxy.url, "ben")
    r = vault.cli.run("cred", "set", CRED, user="ben", input="planted\n", expect=6, env=env)
    assert "swapped" in r.stderr and "planted" not in r.stderr
    assert [p for p, _ in proxy.requests if p == "/v1/write"] == []
    assert vault.cli.sql(versions) == before


def test_the_same_vault_rolled_back_at_another_address_is_refused(vault: Served) -> None:
    """ben saw version 2 of ROLLED through one address; another address of the same
    vault serves the whole vault as it was before version 2, consistently."""
    honest, stale = Proxy(vault.url), Proxy(vault.url)
    try:
        assert get_via(vault, honest, ROLLED, expect=0).stdout == "rolled-v2\n"
        ((added,),) = vault.cli.sql("SELECT min(seq) FROM access_event WHERE target = ?", (ROLLED,))

        def before_v2(kept: list[list[Any]]) -> dict[str, Any]:
            kept = [e for e in kept if e[0] <= added]
            if not kept:  # the client asks from a head this instance never reached
                return {"seq": added, "hash": "00" * 32, "signature": None}
            return {"seq": added, "hash": kept[-1][HASH], "signature": kept[-1][13]}

        def log(_: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
            kept = [e for e in answer["events"] if e[0] <= added]
            return {"events": kept, "head": before_v2(kept)}

        def prepare(_: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
            kept = [e for e in answer["events"] if e[0] <= added]
            return {**answer, "events": kept, "head": before_v2(kept)}

        v1 = vault.cli.sql(
            "SELECT v.ciphertext FROM secret_version v JOIN credential c"
            " ON c.id = v.credential_id WHERE c.name = 'rolled' AND v.version = 1"
        )[0][0]
        stale.on_answer("/v1/log", log)
        stale.on_request("/v1/reveal/prepare", lambda body: {**body, "version": 1})
        stale.on_answer("/v1/reveal/prepare", prepare)
        stale.answer_instead(
            "/v1/reveal",
            lambda _: {
                "target": [a for p, a in stale.answers if p == "/v1/reveal/prepare"][-1]["target"],
                "sealed": bytes(v1).hex(),
            },
        )
        r = get_via(vault, stale, ROLLED, expect=None)
        assert stale.errors == []
        assert r.stdout == "", "the rolled-back instance's version 1 was printed as current"
        assert r.code == 6
    finally:
        honest.close()
        stale.close()
