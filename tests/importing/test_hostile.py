"""Hostile and malformed input, generated: every outcome is a clean import or one
`UsageError`, and an error leaves the vault exactly as it was."""

from __future__ import annotations

import contextlib
import csv
import io
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custodian.errors import UsageError
from custodian.exchange.importers import Rule
from custodian.exchange.importers.tabular import read_csv

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

COLS = "customer=c,system=s,name=n,username=u,password=p,notes=t"
_names = itertools.count()

cell = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "=cmd|' /C calc'!A0",
            "+1+1",
            "-2",
            "@SUM(A1)",
            "\x00",
            "a\x00b",
            "\ufeff",
            "\u202e",
            "ä\u0301",
            "",
            " ",
            "\r\n",
            '"',
            "a,b",
        ]
    ),
    st.text(min_size=1, max_size=3).map(lambda t: t * 30_000),  # huge fields
)
row = st.lists(cell, min_size=5, max_size=7)
encoding = st.sampled_from(["utf-8", "utf-16", "latin-1", "cp1252"])


def _render(rows, enc: str) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["c", "s", "n", "u", "p", "t"])
    w.writerows(rows)
    return buf.getvalue().encode(enc, errors="replace")


def _counts(vault) -> tuple:
    return tuple(
        vault.sql(f"SELECT count(*) FROM {t}")[0][0]
        for t in ("customer", "system", "credential", "secret_version", "access_event")
    )


@pytest.fixture(params=["sqlite"])
def backend(request):  # hypothesis: one database is enough (the transaction is the point)
    return request.param


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=st.lists(row, min_size=1, max_size=4), enc=encoding)
def test_hostile_csv_imports_cleanly_or_not_at_all(vault, tmp_path, rows, enc):
    f = tmp_path / f"hostile{next(_names)}.csv"
    f.write_bytes(_render(rows, enc))
    before = _counts(vault)
    try:
        parsed = read_csv(f, Rule(), columns=COLS)
        vault.admin.import_items(parsed.items, source=str(f))
    except UsageError as exc:
        assert str(exc).startswith(str(f)) or "--" in str(exc)
        assert "\x00" not in str(exc)
        assert _counts(vault) == before
        return
    assert _counts(vault) >= before


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=2000))
def test_random_bytes_as_kdbx_or_json_give_a_clean_error(tmp_path_factory, data):
    from custodian.exchange.importers.kdbx import read_kdbx

    d = tmp_path_factory.mktemp("bytes")
    (d / "x.kdbx").write_bytes(data)
    (d / "x.json").write_bytes(data)
    with pytest.raises(UsageError):
        read_kdbx(d / "x.kdbx", "pw", Rule(customer="acme"))
    with contextlib.suppress(UsageError):
        read_csv(d / "x.json", Rule(customer="acme"), preset="bitwarden-json")
