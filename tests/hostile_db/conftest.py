"""The hostile-database suite attacks the same populated vault the audit tests use."""

from tests.audit.conftest import audit_templates, log_db, log_vault
from tests.hostile_db.hostilekit import attacker

__all__ = ["attacker", "audit_templates", "log_db", "log_vault"]
