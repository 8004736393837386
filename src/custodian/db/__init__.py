"""The database: the tables (`models.py`), the engine and its location (`engine.py`), the
schema's Alembic revisions (`migrations/`, applied by `migrate.py`) and the prepared Core
statements of the hot paths (`prepared.py`), on SQLite or PostgreSQL.

May import: `custodian.errors` and `custodian.clock` only. The service, storage and audit
import it; it imports none of them (import-linter, pyproject.toml).
"""
