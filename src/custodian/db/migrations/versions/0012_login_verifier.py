"""the passphrase's verifier, per technician (issue 18): `technician.login_key`.

The public half of the login key the passphrase derives for the technician's lock
(crypto/passphrase.py, `PassphraseKey.login_key`). `custodian serve` hands out a locked
bundle only to a client that signs its challenge with that key, so nobody who merely
reaches the server can fetch a bundle and guess its passphrase offline. Set whenever a
bundle is locked; an account locked before this revision gets it at its next unlock.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:  # plain ADD COLUMN: no table is rebuilt
    op.add_column("technician", sa.Column("login_key", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    op.drop_column("technician", "login_key")  # SQLite 3.35+: no rebuild
