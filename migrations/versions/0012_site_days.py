"""site_days: the site build's index by day instead of by month (issue 7)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The index moves from months to days: the recorded build no longer matches it, so the
    # next build is a full one (it fills the new table).
    op.drop_table("site_months")
    op.execute(sa.text("DELETE FROM site_builds"))
    op.create_table(
        "site_days",
        sa.Column("day", sa.Text(), nullable=False),
        sa.Column("items", sa.LargeBinary(), nullable=False),
        sa.Column("search", sa.LargeBinary(), nullable=False),
        sa.Column("shard", sa.Text(), nullable=False),
        sa.Column("shard_key", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )


def downgrade() -> None:
    op.drop_table("site_days")
    op.execute(sa.text("DELETE FROM site_builds"))
    op.create_table(
        "site_months",
        sa.Column("month", sa.Text(), nullable=False),
        sa.Column("items", sa.LargeBinary(), nullable=False),
        sa.Column("search", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("month"),
    )
