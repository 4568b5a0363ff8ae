"""site_listings: each listing's members for incremental site builds (issue 7)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Empty until the next build, which then plans from site_months (and fills this table).
    op.create_table(
        "site_listings",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("numbered_key", sa.Text(), nullable=False),
        sa.Column("front_key", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "site_listing_chunks",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("chunk", sa.Integer(), nullable=False),
        sa.Column("ids", sa.LargeBinary(), nullable=False),
        sa.Column("keys", sa.LargeBinary(), nullable=False),
        sa.Column("digests", sa.LargeBinary(), nullable=False),
        sa.Column("anchors", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name", "chunk", name="pk_site_listing_chunks"),
    )


def downgrade() -> None:
    op.drop_table("site_listing_chunks")
    op.drop_table("site_listings")
