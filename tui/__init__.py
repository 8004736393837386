"""custodian's terminal UI (installed as `custodian_tui`). `make_app()` builds the app for
the entry point and for the tests alike.

May import: the public API of `custodian` (its `__all__`) and `custodian.service`, and
Textual; never the database, storage or crypto (import-linter, pyproject.toml).
"""

from .app import CustodianApp, make_app
from .config import TuiConfig

__all__ = ["CustodianApp", "TuiConfig", "make_app"]
