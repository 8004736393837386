"""vault-backend schema (issue 5): where payloads live, and the Vault KV version of each.

- `secret_backend`: one row naming the payload store (`sql` or `vault`) and its Vault
  address, KV mount, path prefix and auth mount; absent means `sql`. `migrating_to` is set
  while `custodian migrate` runs.
- `secret_version.kv_version`: the KV v2 version holding this custodian version's payload
  (null when the payload is sealed in `ciphertext`).
- `secret_version.created_by` becomes nullable: a version written straight to Vault
  (`bao kv put`) and picked up later has no custodian author.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "secret_backend",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("vault_addr", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True),
        sa.Column("vault_mount", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("vault_prefix", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("vault_auth_mount", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("migrating_to", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("secret_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kv_version", sa.Integer(), nullable=True))
        batch_op.alter_column("created_by", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("secret_version", schema=None) as batch_op:
        batch_op.alter_column("created_by", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("kv_version")
    op.drop_table("secret_backend")
