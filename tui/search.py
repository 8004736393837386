"""The home screen's search: a precomputed index over everything the technician may see.

Each credential is one line of lower-case text (customer slug and name, system, kind, host,
credential, username), all joined into one string. A query is split into words that may
match in any order and any field. The longest word is found with `str.find` over the whole
string (C speed), the others are checked on the lines it hits, and the scan stops once it
has enough lines to show. When no line holds every word as typed, the search turns fuzzy:
each word may match as a subsequence of one word of the line (`edgrtr` finds `edge-rtr`),
tried only on lines holding all of its letters (a bit set per letter, computed the first
time a fuzzy query needs that letter, so building the index stays cheap).
A query that extends a previous complete one filters that one's matches only.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter

from custodian import CredentialInfo, CustomerInfo

_NARROW_BELOW = 20_000  # filter earlier matches line by line when fewer than this


@dataclass(frozen=True)
class SearchResult:
    query: str
    customers: tuple[CustomerInfo, ...]  # at most `limit`, in slug order
    credentials: tuple[CredentialInfo, ...]  # at most `limit`
    complete: bool  # False when the scan stopped at the limit: there are more matches
    fuzzy: bool = False  # matched as subsequences: nothing held the words as typed

    @property
    def shown(self) -> str:
        return f"{len(self.credentials)}{'' if self.complete else '+'}"


def tokens_of(query: str) -> list[str]:
    return query.lower().split()


def _fuzzy_pattern(tokens: list[str]) -> re.Pattern[str]:
    """Each token a subsequence of one word of the line (`rtr` finds `edge-rtr`, `ergw`
    finds `edge-rtr-gw`); possessive quantifiers keep it linear in the word."""
    looks = (
        "(?=.*?"
        + re.escape(token[0])
        + "".join(f"[^ {re.escape(c)}]*+{re.escape(c)}" for c in token[1:])
        + ")"
        for token in tokens
    )
    return re.compile("".join(looks))


class SearchIndex:
    """Built once, in a worker, from `list_customers()` and `list_credentials()`. It
    remembers its last complete result to narrow from: use it from one thread at a time."""

    def __init__(
        self,
        customers: Sequence[CustomerInfo],
        credentials: Sequence[CredentialInfo],
        *,
        limit: int = 200,
    ) -> None:
        self.limit = limit
        self.customers = sorted(customers, key=lambda c: c.slug)
        names = {c.slug: c.name for c in self.customers}
        self.credentials = sorted(
            credentials, key=attrgetter("customer", "system_kind", "system", "name")
        )
        self._lines = [
            " ".join(
                filter(
                    None,
                    (
                        c.customer,
                        names.get(c.customer, ""),
                        c.system,
                        c.system_kind,
                        c.host,
                        c.name,
                        c.username,
                    ),
                )
            ).lower()
            for c in self.credentials
        ]
        self._blob, self._starts = _joined(self._lines)
        self._customer_lines = [f"{c.slug} {c.name}".lower() for c in self.customers]
        self._customer_blob, self._customer_starts = _joined(self._customer_lines)
        self._by_slug = {c.slug: c for c in self.customers}
        self._ranges: dict[str, range] = {}
        for i, c in enumerate(self.credentials):
            r = self._ranges.get(c.customer)
            self._ranges[c.customer] = range(r.start if r else i, i + 1)
        self._letters: dict[str, int] = {}  # filled by `_lines_with` as fuzzy queries need
        self._last: tuple[list[str], list[int]] | None = None

    def by_customer(self, slug: str) -> list[CredentialInfo]:
        r = self._ranges.get(slug, range(0))
        return self.credentials[r.start : r.stop]

    # --- searching ------------------------------------------------------------------

    def search(self, query: str, customer: str | None = None) -> SearchResult:
        """Customers and credentials matching `query`; only `customer`'s credentials if
        set (the customer list is the same either way)."""
        tokens = tokens_of(query)
        if not tokens:
            creds = self.by_customer(customer) if customer else self.credentials
            return SearchResult(
                query,
                tuple(self.customers[: self.limit]),
                tuple(creds[: self.limit]),
                len(self.customers) <= self.limit and len(creds) <= self.limit,
            )
        hits, complete = self._exact(tokens)
        fuzzy = False
        if not hits:
            hits, complete = self._fuzzy(tokens)
            fuzzy = True
        owners = {self.credentials[i].customer for i in hits}
        owners.update(self.customers[i].slug for i in self._customer_hits(tokens, fuzzy))
        by_slug = self._by_slug
        customers = tuple(by_slug[slug] for slug in sorted(owners)[: self.limit])
        if customer is not None:
            hits = [
                i for i in self._ranges.get(customer, range(0)) if self._keeps(i, tokens, fuzzy)
            ]
            complete = True
        found = tuple(self.credentials[i] for i in hits[: self.limit])
        return SearchResult(query, customers, found, complete and len(hits) <= self.limit, fuzzy)

    def _customer_hits(self, tokens: list[str], fuzzy: bool) -> list[int]:
        """Customers whose own slug or name matches; lines are in slug order, so the
        first `limit` hits are the ones a slug-sorted list shows."""
        lines = self._customer_lines
        if fuzzy:
            match = _fuzzy_pattern(tokens).match
            return [i for i, line in enumerate(lines) if match(line)][: self.limit]
        return _scan(self._customer_blob, self._customer_starts, lines, tokens, self.limit)[0]

    def _keeps(self, i: int, tokens: list[str], fuzzy: bool) -> bool:
        line = self._lines[i]
        if fuzzy:
            return _fuzzy_pattern(tokens).match(line) is not None
        return all(t in line for t in tokens)

    def _exact(self, tokens: list[str]) -> tuple[list[int], bool]:
        """Lines holding every token as typed: narrowed from the last result, or scanned
        for the longest token, stopping at `limit * 5` lines."""
        last = self._last
        if last is not None and _extends(tokens, last[0]) and len(last[1]) < _NARROW_BELOW:
            lines = self._lines
            hits = [i for i in last[1] if all(t in lines[i] for t in tokens)]
            self._last = (tokens, hits)
            return hits, True
        hits, complete = _scan(self._blob, self._starts, self._lines, tokens, self.limit * 5)
        self._last = (tokens, hits) if complete else None
        return hits, complete

    def _lines_with(self, ch: str) -> int:
        found = self._letters.get(ch)
        if found is None:
            found = self._letters[ch] = _bit_set(self._lines, ch)
        return found

    def _fuzzy(self, tokens: list[str]) -> tuple[list[int], bool]:
        """Lines where every token is a subsequence, tried only on lines holding all of
        the query's letters, stopping at `limit * 5` lines."""
        mask = -1
        for ch in set("".join(tokens)):
            mask &= self._lines_with(ch)
        if mask <= 0:
            return [], True
        search = _fuzzy_pattern(tokens).match
        lines, stop, hits = self._lines, self.limit * 5, []
        for at, byte in enumerate(mask.to_bytes((len(lines) + 7) // 8, "little")):
            if not byte:
                continue
            for i in range(at * 8, at * 8 + 8):
                if byte >> (i - at * 8) & 1 and search(lines[i]):
                    hits.append(i)
                    if len(hits) >= stop:
                        return hits, False
        return hits, True


def _joined(lines: list[str]) -> tuple[str, list[int]]:
    """The lines joined by newlines, and where each one starts."""
    starts, offset = [], 0
    for line in lines:
        starts.append(offset)
        offset += len(line) + 1
    return "\n".join(lines), starts


def _scan(
    blob: str, starts: list[int], lines: list[str], tokens: list[str], stop: int
) -> tuple[list[int], bool]:
    """Lines holding every token: `str.find` of the longest over the joined lines, the
    others checked on each line it hits; stops (complete False) at `stop` lines."""
    key = max(tokens, key=len)
    others = [t for t in tokens if t != key]
    hits: list[int] = []
    pos, count = 0, len(lines)
    while True:
        at = blob.find(key, pos)
        if at < 0:
            return hits, True
        line = bisect_right(starts, at) - 1
        if all(t in lines[line] for t in others):
            hits.append(line)
            if len(hits) >= stop:
                return hits, False
        if line + 1 >= count:
            return hits, True
        pos = starts[line + 1]


def _bit_set(lines: list[str], ch: str) -> int:
    """The lines holding `ch` as a bit set (an int; bit i is line i): one `in` per line,
    packed by `int(..., 2)`, which is linear for base 2."""
    if not lines:
        return 0
    return int("".join(["1" if ch in line else "0" for line in reversed(lines)]), 2)


def _extends(tokens: list[str], previous: list[str]) -> bool:
    """Every line matching `tokens` also matches `previous` (the user typed more)."""
    if len(tokens) < len(previous):
        return False
    return all(p in t for t, p in zip(tokens, previous, strict=False))
