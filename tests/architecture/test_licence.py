"""The licence: Apache-2.0 in the LICENSE file, the package metadata and the README."""

from __future__ import annotations

from importlib.metadata import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_project_is_licensed_under_apache_2() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert metadata("custodian")["License"] == "Apache-2.0"
    assert "[Apache License 2.0](LICENSE)" in (ROOT / "README.md").read_text(encoding="utf-8")
