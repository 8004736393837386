"""week one (issue 19): a system's port, a credential's tags, each customer's TOTP seed
policy and password age, and the password age per system kind.

- `system.port`, `credential.tags` (comma-separated): metadata `system edit` and
  `cred edit` set.
- `customer.otp_seed_policy`: who may reveal `otp-seed` (`admins`, the default, or
  `granted`); the current code stays available to every granted technician.
- `customer.max_age_days`, `vault_info.max_age_by_kind` (JSON: kind -> days): a
  password older than its maximum age is on the rotation worklist with the cause `age`.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ADD COLUMN: no table is rebuilt (access_event, whose triggers a rebuild would
# drop, is not touched).
def upgrade() -> None:
    op.add_column("system", sa.Column("port", sa.Integer(), nullable=True))
    op.add_column("credential", sa.Column("tags", sa.String(length=512), nullable=True))
    op.add_column(
        "customer",
        sa.Column("otp_seed_policy", sa.String(length=16), nullable=False, server_default="admins"),
    )
    op.add_column("customer", sa.Column("max_age_days", sa.Integer(), nullable=True))
    op.add_column("vault_info", sa.Column("max_age_by_kind", sa.Text(), nullable=True))


def downgrade() -> None:
    for table, column in (
        ("vault_info", "max_age_by_kind"),
        ("customer", "max_age_days"),
        ("customer", "otp_seed_policy"),
        ("credential", "tags"),
        ("system", "port"),
    ):
        op.drop_column(table, column)  # SQLite 3.35+: ALTER TABLE DROP COLUMN, no rebuild
