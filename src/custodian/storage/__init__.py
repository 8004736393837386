"""Where secret payloads live: one `SecretStore` protocol, several implementations."""

from .base import SecretRef, SecretStore
from .sql import SqlSecretStore

__all__ = ["SecretRef", "SecretStore", "SqlSecretStore"]
