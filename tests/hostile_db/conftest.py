"""The hostile-database suite attacks the same populated vault the audit tests use."""

from tests.audit.conftest import audit_templates, log_db, log_vault

__all__ = ["audit_templates", "log_db", "log_vault"]
