"""links.changed_at and the site build's index, search fields and card cache (issue 7)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import feedbot.models

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing links get NULL: no site build has an index yet, so the next one is a full build.
    op.add_column("links", sa.Column("changed_at", feedbot.models.UTCDateTime(), nullable=True))
    op.create_index(op.f("ix_links_changed_at"), "links", ["changed_at"], unique=False)
    op.create_table(
        "site_months",
        sa.Column("month", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("items", sa.LargeBinary(), nullable=False),
        sa.Column("search", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("month"),
    )
    op.create_table(
        "site_cards",
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("root", sa.Text(), nullable=False),
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("link_id", "root", name="pk_site_cards"),
    )
    op.create_table(
        "site_builds",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("setup", sa.Text(), nullable=False),
        sa.Column("output", sa.Text(), nullable=False),
        sa.Column("started_at", feedbot.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("site_builds")
    op.drop_table("site_cards")
    op.drop_table("site_months")
    op.drop_index(op.f("ix_links_changed_at"), table_name="links")
    with op.batch_alter_table("links") as batch:
        batch.drop_column("changed_at")
