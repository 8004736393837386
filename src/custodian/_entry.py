"""The `custodian` executable's entry point, kept small: the full CLI loads only when needed."""

from __future__ import annotations

import sys


def main() -> None:
    from .cli import main as cli_main

    sys.exit(cli_main())
