"""lifecycle schema (issue 4): rotation worklist, destruction list, retention default.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString
_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "rotation_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.Integer(), nullable=False),
        sa.Column("cause", _STR(length=32), nullable=False),
        sa.Column("technician_id", sa.Integer(), nullable=True),
        sa.Column("seen_at", _TIME(), nullable=True),
        sa.Column("flagged_at", _TIME(), nullable=False),
        sa.Column("flagged_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["credential_id"], ["credential.id"]),
        sa.ForeignKeyConstraint(["technician_id"], ["technician.id"]),
        sa.ForeignKeyConstraint(["flagged_by"], ["technician.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rotation_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rotation_item_customer_id"), ["customer_id"])
        batch_op.create_index(batch_op.f("ix_rotation_item_credential_id"), ["credential_id"])

    op.create_table(
        "shredded_customer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vault_id", _STR(length=64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("slug", _STR(length=63), nullable=False),
        sa.Column("name", _STR(length=200), nullable=False),
        sa.Column("shredded_at", _TIME(), nullable=False),
        sa.Column("shredded_by", _STR(length=64), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=True),
        sa.Column("detail", _STR(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("shredded_customer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shredded_customer_customer_id"), ["customer_id"])

    with op.batch_alter_table("vault_info", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("retention_days", sa.Integer(), nullable=False, server_default="30")
        )


def downgrade() -> None:
    with op.batch_alter_table("vault_info", schema=None) as batch_op:
        batch_op.drop_column("retention_days")
    with op.batch_alter_table("shredded_customer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shredded_customer_customer_id"))
    op.drop_table("shredded_customer")
    with op.batch_alter_table("rotation_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rotation_item_credential_id"))
        batch_op.drop_index(batch_op.f("ix_rotation_item_customer_id"))
    op.drop_table("rotation_item")
