"""The service layer: the one API that the CLI and the TUI both call."""

from .session import ActorSession
from .vault import Custodian, InitResult, SchemaStatus

__all__ = ["ActorSession", "Custodian", "InitResult", "SchemaStatus"]
