"""`make audit`'s verdict on pip-audit's JSON report (scripts/audit.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "audit_script", Path(__file__).parents[2] / "scripts" / "audit.py"
)
assert _spec and _spec.loader
audit = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = audit  # dataclasses look their module up
_spec.loader.exec_module(audit)


def _dep(name: str, *vulns: tuple[str, list[str]]) -> dict[str, object]:
    return {
        "name": name,
        "version": "1.0",
        "vulns": [{"id": i, "fix_versions": fixes} for i, fixes in vulns],
    }


def test_a_vulnerability_with_a_fix_fails_the_build() -> None:
    verdict = audit.judge({"dependencies": [_dep("a", ("PYSEC-1", ["1.1"])), _dep("b")]})
    assert verdict.failed
    assert "audit: FAIL a 1.0: PYSEC-1 (fixed in 1.1)" in verdict.lines


def test_a_vulnerability_without_a_fix_is_reported_and_passes() -> None:
    verdict = audit.judge({"dependencies": [_dep("a", ("GHSA-x", []))]})
    assert not verdict.failed
    assert "audit: known, unfixed: a 1.0: GHSA-x (no fix released)" in verdict.lines


def test_no_lookup_answered_says_not_audited_and_passes() -> None:
    skip = {"name": "a", "version": "1.0", "skip_reason": "Dependency not found on PyPI"}
    verdict = audit.judge({"dependencies": [skip, {**skip, "name": "b"}]})
    assert not verdict.failed
    assert verdict.lines[0].startswith("audit: NOT AUDITED")


def test_a_clean_report_counts_what_was_audited() -> None:
    verdict = audit.judge({"dependencies": [_dep("a"), _dep("b")]})
    assert not verdict.failed
    assert verdict.lines == ["audit: 2 packages audited, 0 with a fix to apply, 0 without a fix"]
