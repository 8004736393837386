"""Where secret payloads live: one `SecretStore` protocol that takes and returns bytes and
knows no keys (`base.py`), and its implementations: `sql.py` (sealed bytes in the vault
database), `memory.py` (in memory, beside the real ones for tests), and the HashiCorp Vault /
OpenBao store (`hashicorp.py` over `hashicorp_client.py`, `hashicorp_access.py` and the
transport `hashicorp_http.py`; hvac stays in these modules). `config.py` picks the store.

Sealing happens above, in the service (`service/payloads.py`). May import: `custodian.db`,
`custodian.errors`, `custodian.clock`; never the service, audit or a front end
(import-linter, pyproject.toml).
"""

from .base import PendingRead, SecretRef, SecretStore, Superseded, Unrecorded
from .memory import MemorySecretStore
from .sql import SqlSecretStore

__all__ = [
    "MemorySecretStore",
    "PendingRead",
    "SecretRef",
    "SecretStore",
    "SqlSecretStore",
    "Superseded",
    "Unrecorded",
]
