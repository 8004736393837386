"""custodian's terminal UI (installed as `custodian_tui`). It talks only to `custodian`'s
public API; `make_app()` builds the app for the entry point and for the tests alike."""

from .app import CustodianApp, make_app
from .config import TuiConfig

__all__ = ["CustodianApp", "TuiConfig", "make_app"]
