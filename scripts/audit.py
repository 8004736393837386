"""`make audit`: pip-audit over the pinned dependencies (constraints.txt), one verdict line.

Policy (docs/development.md): a known vulnerability with a fixed version fails the build
(exit 1): bump the pin. One without a fix is reported and does not fail. When the advisory
service cannot be reached (no network, or it answers no lookup), say so on one line and
pass: an unreachable service is not a finding.

Usage: python scripts/audit.py [constraints.txt]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_UNREACHABLE = ("ConnectionError", "NameResolutionError", "Max retries", "timed out")


@dataclass
class Verdict:
    failed: bool
    lines: list[str] = field(default_factory=list)


def judge(report: dict[str, Any]) -> Verdict:
    """The verdict on pip-audit's JSON report (`--format json`)."""
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    audited = len(deps) - len(skipped)
    if deps and not audited:
        return Verdict(False, [
            f"audit: NOT AUDITED: the advisory service answered none of {len(deps)} lookups"
            f" (first: {skipped[0]['skip_reason']})"
        ])
    fixable, unfixed = [], []
    for dep in deps:
        for vuln in dep.get("vulns", []):
            fixes = vuln.get("fix_versions") or []
            line = f"{dep['name']} {dep['version']}: {vuln['id']}"
            if fixes:
                fixable.append(f"{line} (fixed in {', '.join(fixes)})")
            else:
                unfixed.append(f"{line} (no fix released)")
    lines = [f"audit: FAIL {x}" for x in fixable] + [f"audit: known, unfixed: {x}" for x in unfixed]
    if skipped:
        names = ", ".join(d["name"] for d in skipped)
        lines.append(f"audit: {len(skipped)} not looked up: {names}")
    lines.append(
        f"audit: {audited} packages audited, {len(fixable)} with a fix to apply,"
        f" {len(unfixed)} without a fix"
    )
    return Verdict(bool(fixable), lines)


def main(argv: list[str]) -> int:
    pins = Path(argv[0] if argv else "constraints.txt")
    pip_audit = Path(sys.executable).with_name("pip-audit")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        # --no-deps --disable-pip: the file pins every package, nothing to resolve or install.
        run = subprocess.run(
            [str(pip_audit), "--disable-pip", "--no-deps", "-r", str(pins), "--format", "json",
             "--output", str(out), "--progress-spinner", "off", "--timeout", "20"],
            capture_output=True, text=True, check=False,
        )
        if not out.exists():
            if any(word in run.stderr for word in _UNREACHABLE):
                print("audit: NOT AUDITED: the advisory service cannot be reached (network)")
                return 0
            print(f"audit: pip-audit failed (exit {run.returncode}):", file=sys.stderr)
            print(run.stderr.strip()[-2000:], file=sys.stderr)
            return 2
        verdict = judge(json.loads(out.read_text()))
    for line in verdict.lines:
        print(line)
    return 1 if verdict.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
