"""The home screen's search index on its own: exact words in any order, fuzzy fallback,
customer matches, limits and narrowing (no vault needed: it works on the service's records)."""

from __future__ import annotations

from datetime import UTC, datetime

from custodian import CredentialInfo, CustomerInfo
from custodian_tui.search import SearchIndex

AT = datetime(2026, 1, 1, tzinfo=UTC)


def _customer(slug: str, name: str) -> CustomerInfo:
    return CustomerInfo(slug, name, "active", False, None, 1, AT)


def _cred(customer: str, system: str, kind: str, name: str = "admin") -> CredentialInfo:
    return CredentialInfo(
        f"{customer}/{system}/{name}",
        customer,
        system,
        kind,
        f"{system}.example",
        name,
        "Administrator",
        None,
        1,
        ("password",),
        AT,
    )


def _index(limit: int = 200) -> SearchIndex:
    customers = [_customer(f"c{i:03d}", f"Customer {i}") for i in range(300)]
    creds = [
        _cred(f"c{i:03d}", s, k)
        for i in range(300)
        for s, k in (("dc01", "active-directory"), ("edge-rtr", "router"))
    ]
    return SearchIndex(customers, creds, limit=limit)


def test_words_match_in_any_order_and_field() -> None:
    index = _index()
    result = index.search("rtr c012")
    assert [c.path for c in result.credentials] == ["c012/edge-rtr/admin"]
    assert [c.slug for c in result.customers] == ["c012"]
    assert result.complete and not result.fuzzy
    # narrowing from the previous query gives the same as a fresh scan
    assert [c.path for c in index.search("rtr c0123").credentials] == []
    assert [c.path for c in _index().search("c0123 rtr").credentials] == []


def test_fuzzy_only_when_nothing_matches_as_typed() -> None:
    result = _index().search("edgrtr c007")
    assert result.fuzzy
    assert [c.path for c in result.credentials] == ["c007/edge-rtr/admin"]
    assert _index().search("qqq").credentials == ()


def test_customers_by_name_in_slug_order_up_to_the_limit() -> None:
    index = _index(limit=20)
    result = index.search("customer")
    assert [c.slug for c in result.customers] == [f"c{i:03d}" for i in range(20)]
    assert [c.slug for c in index.search("customer 29").customers] == [
        "c029",
        "c129",
        "c229",
        *[f"c{i}" for i in range(290, 300)],
    ]
    assert not index.search("admin").complete  # more lines than the limit


def test_one_customer_and_an_index_without_credentials() -> None:
    index = _index()
    assert [c.path for c in index.search("", "c005").credentials] == [
        "c005/dc01/admin",
        "c005/edge-rtr/admin",
    ]
    assert [c.path for c in index.search("rtr", "c005").credentials] == ["c005/edge-rtr/admin"]
    bare = SearchIndex([_customer("acme", "Acme")], [])
    assert [c.slug for c in bare.search("acm").customers] == ["acme"]
    assert bare.search("zz").customers == () and bare.search("zz").credentials == ()
