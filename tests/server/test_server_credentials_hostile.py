"""A lying server is refused in `cred history`, `cred show` and the everyday changes as
in `get` (test_server_hostile.py): exit 6, nothing on stdout that the server made up,
nothing signed for a change that is not the one asked, nothing changed.

Each test puts a tampering proxy (proxykit.py) between the client and the real server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.cli.clikit import ADMIN, CRED, Result
from tests.server.proxykit import Proxy
from tests.server.serverkit import Served, via_server

EDITED = "acme/dc01/hostile"  # two versions, ben's to rename


@pytest.fixture(scope="module")
def vault(sqlite_served: Served) -> Served:
    cli = sqlite_served.cli
    cli.run("cred", "add", EDITED, "--username", "h", input="hostile-v1\n")
    cli.run("cred", "set", EDITED, input="hostile-v2\n")
    return sqlite_served


@pytest.fixture
def proxy(vault: Served) -> Iterator[Proxy]:
    proxy = Proxy(vault.url)
    try:
        yield proxy
    finally:
        proxy.close()
    assert proxy.errors == []  # every edit did what it meant to


def via(vault: Served, proxy: Proxy, *args: str, expect: int = 6, says: str = "") -> Result:
    """`custodian ARGS` as ben through the proxy; refused (exit 6, nothing on stdout, the
    refusal `says` why) unless `expect` is 0."""
    r = vault.cli.run(*args, user="ben", expect=expect, env=via_server(vault.cli, proxy.url))
    if expect:
        assert r.stdout == "", r
        assert says in r.stderr, r.stderr
    return r


def test_an_honest_proxy_changes_nothing(vault: Served, proxy: Proxy) -> None:
    shown = via(vault, proxy, "cred", "show", EDITED, expect=0).stdout
    assert shown == vault.cli.run("cred", "show", EDITED, user="ben").stdout
    assert "hostile-v" not in shown
    versions = via(vault, proxy, "cred", "history", EDITED, "--format", "json", expect=0).json()
    assert [v["version"] for v in versions] == [1, 2]


def lie_in_detail(edit: Any) -> Any:
    def answer(request: dict[str, Any], found: dict[str, Any]) -> dict[str, Any]:
        if "detail" in found:
            edit(found)
        return found

    return answer


LIES = {
    "versions-dropped": lambda a: a["detail"]["versions"].pop(),
    "current-rolled-back": lambda a: a["detail"]["credential"].update(version=1),
    "version-renumbered": lambda a: a["detail"]["versions"][-1].update(version=9),
    "unknown-key": lambda a: a["detail"]["versions"][-1].update(key_version=9),
    "another-customer": lambda a: a.update(customer_id=a["customer_id"] + 1),
    "another-credential": lambda a: a["detail"]["credential"].update(path=CRED),
    "fields": lambda a: a["detail"]["credential"].update(fields=["password", "pin"]),
}


@pytest.mark.parametrize("command", ["history", "show"])
@pytest.mark.parametrize("lie", sorted(LIES))
def test_a_read_the_directory_contradicts_is_refused(
    vault: Served, proxy: Proxy, command: str, lie: str
) -> None:
    proxy.on_answer("/v1/credential", lie_in_detail(LIES[lie]))
    via(vault, proxy, "cred", command, EDITED)
    assert [p for p, _ in proxy.answers if p == "/v1/credential"]  # the lie was told


def head_lie(part: str) -> Any:
    def answer(request: dict[str, Any], prepared: dict[str, Any]) -> dict[str, Any]:
        prepared["head"][part] = "00" * (64 if part == "signature" else 32)
        return prepared

    return answer


def test_a_read_at_a_head_that_is_not_the_log_s_is_refused(vault: Served, proxy: Proxy) -> None:
    """The log a read's answer carries is verified as a prepare's is (its head's
    signature matters only to what the client signs after it: nothing, here)."""
    proxy.on_answer("/v1/credential", head_lie("hash"))
    via(vault, proxy, "cred", "history", EDITED)


@pytest.mark.parametrize("part", ["hash", "signature"])
def test_a_prepared_head_that_is_not_the_log_s_is_refused(
    vault: Served, proxy: Proxy, part: str
) -> None:
    proxy.on_answer("/v1/edit/prepare", head_lie(part))
    via(vault, proxy, "cred", "rename", EDITED, "renamed")
    assert not [p for p, _ in proxy.requests if p == "/v1/edit"]  # nothing signed
    assert vault.cli.run("cred", "show", EDITED, user=ADMIN).stdout  # nothing changed


CHANGE_LIES = {
    "target": lambda e: e.update(target="acme/dc01/evil"),
    "from": lambda e: e["detail"].update({"from": CRED}),
    "action": lambda e: e.update(action="cred-delete"),
    "changed": lambda e: e["detail"].update(changed=["name", "username"]),
    "credential": lambda e: e.update(credential_id=e["credential_id"] + 1000),
    "detail": lambda e: e["detail"].update(dir=[{"t": "uncred", "c": 1, "id": 1}]),
}


@pytest.mark.parametrize("lie", sorted(CHANGE_LIES))
def test_a_prepared_change_that_is_not_the_one_asked_is_refused(
    vault: Served, proxy: Proxy, lie: str
) -> None:
    def answer(request: dict[str, Any], prepared: dict[str, Any]) -> dict[str, Any]:
        CHANGE_LIES[lie](prepared["event"])
        return prepared

    proxy.on_answer("/v1/edit/prepare", answer)
    via(vault, proxy, "cred", "rename", EDITED, "renamed", says="another change")
    assert not [p for p, _ in proxy.requests if p == "/v1/edit"]
    assert vault.cli.run("cred", "show", EDITED, user=ADMIN).stdout


def test_a_change_the_server_does_not_sign_for_is_refused(vault: Served, proxy: Proxy) -> None:
    """A commit that names another path than the signed event: refused, not shown."""
    proxy.on_answer("/v1/edit", lambda request, done: {"path": "acme/dc01/elsewhere"})
    r = via(vault, proxy, "cred", "edit", EDITED, "--url", "https://x.invalid")
    assert "elsewhere" not in r.stderr


DELETE_LIES = {
    "another-credential": lambda e: e["detail"]["dir"][0].update(id=e["credential_id"] + 1),
    "no-directory-change": lambda e: e["detail"].pop("dir"),
    "counts": lambda e: e["detail"]["destroyed"].update(credentials=2),
    "target": lambda e: e.update(target=CRED),
    "action": lambda e: e.update(action="system-delete"),
}


@pytest.mark.parametrize("lie", sorted(DELETE_LIES))
def test_a_prepared_deletion_that_is_not_the_one_asked_is_refused(
    vault: Served, proxy: Proxy, lie: str
) -> None:
    def answer(request: dict[str, Any], prepared: dict[str, Any]) -> dict[str, Any]:
        DELETE_LIES[lie](prepared["event"])
        return prepared

    proxy.on_answer("/v1/delete/prepare", answer)
    r = vault.cli.run(
        "cred",
        "delete",
        EDITED,
        "--yes",
        user=ADMIN,
        expect=6,
        env=via_server(vault.cli, proxy.url, ADMIN),
    )
    assert r.stdout == "" and "another deletion" in r.stderr, r
    assert not [p for p, _ in proxy.requests if p == "/v1/delete"]  # nothing signed
    assert vault.cli.run("cred", "show", EDITED, user=ADMIN).stdout  # nothing deleted
