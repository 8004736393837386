"""The `custodian` executable's entry point, kept small: the full CLI loads only when needed.

`custodian get` is first offered to the session agent through `agent.client`, which imports
only the stdlib; without an agent (or for any other command) the full CLI runs."""

from __future__ import annotations

import sys


def main() -> None:
    argv = sys.argv[1:]
    if "get" in argv:
        from .agent.client import try_get

        code = try_get(argv)
        if code is not None:
            sys.exit(code)
    from .cli import main as cli_main

    sys.exit(cli_main())
