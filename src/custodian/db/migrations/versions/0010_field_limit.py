"""the field size limit, per vault (issue 19): `vault_info.max_field_bytes`.

The most one secret field (text or file) may hold, on every write path (`cred add|set`,
`--file`, import); 1 MiB unless an admin sets another (`custodian field-limit`).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:  # plain ADD COLUMN: no table is rebuilt
    op.add_column(
        "vault_info",
        sa.Column("max_field_bytes", sa.Integer(), nullable=False, server_default="1048576"),
    )


def downgrade() -> None:
    op.drop_column("vault_info", "max_field_bytes")  # SQLite 3.35+: no rebuild
