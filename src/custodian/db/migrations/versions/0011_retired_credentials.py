"""retired credentials (issue 19): `credential.retired_at`.

A retired credential (`custodian cred retire`) is kept, with its versions and its log,
but leaves the listings and the rotation worklist and takes no new version until it is
un-retired (`cred retire --undo`). Null: an active credential, as every existing one is.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE ADD/DROP COLUMN, not a batch: a batch rebuilds the table on SQLite,
# which the foreign keys of `secret_version` refuse (SQLite >= 3.35 drops a column in place).
def upgrade() -> None:
    op.add_column(
        "credential",
        sa.Column("retired_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("credential", "retired_at")
