"""access log format v2: an index for each actor's newest event; three redundant indexes go.

A signed append looks up the actor's newest signed event (docs/audit-format.md, "Why one
signature per actor"): `ix_access_event_actor_seq`. The single-column indexes on
`actor_id`, `customer_id` and `credential_id` are prefixes of the `(…, at)` indexes that
the review queries use, and each cost a page write on every append.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REDUNDANT = ("actor_id", "customer_id", "credential_id")


# Plain index operations, not a batch: a batch could rebuild the table on SQLite, and
# with it drop the append-only triggers of 0002.
def upgrade() -> None:
    op.create_index("ix_access_event_actor_seq", "access_event", ["actor", "seq"])
    for column in _REDUNDANT:
        op.drop_index(f"ix_access_event_{column}", table_name="access_event")


def downgrade() -> None:
    for column in _REDUNDANT:
        op.create_index(f"ix_access_event_{column}", "access_event", [column])
    op.drop_index("ix_access_event_actor_seq", table_name="access_event")
