"""The server's listing in pages (`service.served_read`): every credential once, in path
order, whatever the page size; the same rows as database mode's listing."""

from __future__ import annotations

from custodian import SecretPayload
from custodian.service import Login, Served, key_tag, list_credentials
from tests.conftest import VaultKit


def _login(vault: VaultKit, name: str) -> Login:
    rows = vault.sql("SELECT id, signing_public_key FROM technician WHERE username = :n", n=name)
    member, signing_key = rows[0]
    return Login(member, key_tag(bytes(signing_key)))


def test_pages_list_every_credential_once_in_path_order(vault: VaultKit) -> None:
    ben = vault.tech("ben")
    vault.customer("acme", grant=("ben",))
    vault.customer("globex", cred="root", grant=("ben",))
    vault.customer("initech")  # not granted: never listed for ben
    for name in ("b", "a", "c"):
        vault.admin.add_credential(f"acme/dc01/{name}", _payload())
    served = Served(vault.vault)
    for size in (1, 2, 3, 1000):
        paths: list[str] = []
        after = None
        while True:
            page = list_credentials(served, _login(vault, "ben"), None, 0, after=after, size=size)
            assert len(page.credentials) <= size
            paths += [c.path for c in page.credentials]
            if page.next is None:
                break
            after = page.next
        assert paths == [c.path for c in ben.list_credentials()], size
        assert paths == sorted(paths) and len(paths) == 5


def test_a_page_of_one_customer(vault: VaultKit) -> None:
    vault.tech("ben")
    vault.customer("acme", grant=("ben",))
    vault.admin.add_credential("acme/dc01/zz", _payload())
    first = list_credentials(Served(vault.vault), _login(vault, "ben"), "acme", 0, size=1)
    assert [c.path for c in first.credentials] == ["acme/dc01/admin"]
    assert first.next == "acme/dc01/admin" and first.refusal is None


def _payload() -> SecretPayload:
    return SecretPayload({"password": "pw"})
