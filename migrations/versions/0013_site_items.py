"""site_items: each item of the last site build and its day, by link id (issue 7)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Empty: the recorded build no longer matches the record, so the next build is a full one.
    op.execute(sa.text("DELETE FROM site_builds"))
    op.create_table(
        "site_items",
        sa.Column("link_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("link_id"),
    )


def downgrade() -> None:
    op.drop_table("site_items")
    op.execute(sa.text("DELETE FROM site_builds"))
