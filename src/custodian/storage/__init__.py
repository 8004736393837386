"""Where secret payloads live: one `SecretStore` protocol, several implementations."""

from .base import PendingRead, SecretRef, SecretStore, Unrecorded
from .memory import MemorySecretStore
from .sql import SqlSecretStore

__all__ = [
    "MemorySecretStore",
    "PendingRead",
    "SecretRef",
    "SecretStore",
    "SqlSecretStore",
    "Unrecorded",
]
