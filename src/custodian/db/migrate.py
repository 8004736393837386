"""Alembic, driven from code: the only way custodian changes a schema."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

if TYPE_CHECKING:
    from alembic.config import Config


def _config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "custodian.db:migrations")
    cfg.attributes["engine"] = engine
    return cfg


# The newest revision in migrations/versions. Every command checks the vault's schema
# against it, so it is a constant rather than a scan of the scripts (alembic's import and
# parse cost about 0.3 s a process); tests/core/test_schema.py pins it to the scripts.
SCHEMA_HEAD = "0012"


def head_revision() -> str:
    return SCHEMA_HEAD


def scripted_head_revision() -> str:
    """The head as alembic finds it in the migration scripts."""
    from alembic.script import ScriptDirectory

    from .engine import create_db_engine

    cfg = _config(create_db_engine("sqlite://"))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(_config(engine), revision)
