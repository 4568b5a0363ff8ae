"""paper_versions: the other versions each paper's citation names, for lookups by index (issue 7)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from feedbot.links.citation import citation_from_json, version_urls

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000  # links read at a time while filling the table

_links = sa.table("links", sa.column("id", sa.Integer()), sa.column("paper", sa.JSON()))
_versions = sa.table("paper_versions", sa.column("url", sa.Text()), sa.column("link_id"))


def upgrade() -> None:
    op.create_table(
        "paper_versions",
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["link_id"], ["links.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("url", "link_id", name="pk_paper_versions"),
    )
    op.create_index(op.f("ix_paper_versions_link_id"), "paper_versions", ["link_id"], unique=False)
    _fill(op.get_bind())


def _fill(conn: sa.Connection) -> None:
    """One row for each URL ``version_urls`` gives for each link's citation: what the store
    writes with every citation, computed by the same functions so the two cannot differ. Read
    in batches of links by id, so memory stays bounded however many papers there are."""
    # Neither SQL NULL nor the JSON ``null`` a None may be stored as (the store's _HAS_PAPER).
    has_paper = sa.cast(_links.c.paper, sa.Text) != "null"
    after = 0
    while True:
        batch = conn.execute(
            sa.select(_links.c.id, _links.c.paper)
            .where(_links.c.id > after, has_paper)
            .order_by(_links.c.id)
            .limit(_BATCH)
        ).all()
        if not batch:
            return
        rows: list[dict[str, Any]] = [
            {"url": url, "link_id": row.id}
            for row in batch
            if row.paper
            for url in version_urls(citation_from_json(row.paper))
        ]
        if rows:
            conn.execute(sa.insert(_versions), rows)
        after = batch[-1].id


def downgrade() -> None:
    op.drop_index(op.f("ix_paper_versions_link_id"), table_name="paper_versions")
    op.drop_table("paper_versions")
