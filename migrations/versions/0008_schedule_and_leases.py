"""per-source schedule and worker leases (issue 8)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import feedbot.models

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SOURCE_COLUMNS = (
    ("next_due_at", feedbot.models.UTCDateTime),
    ("interval_seconds", sa.Float),
    ("schedule_hints", sa.JSON),
    ("failing_since", feedbot.models.UTCDateTime),
    ("paused_at", feedbot.models.UTCDateTime),
    ("lease_owner", sa.Text),
    ("lease_expires_at", feedbot.models.UTCDateTime),
)


def upgrade() -> None:
    # Existing sources get NULL next_due_at: due at once, as a new source is.
    for name, kind in _SOURCE_COLUMNS:
        op.add_column("sources", sa.Column(name, kind(), nullable=True))
    op.create_index(op.f("ix_sources_next_due_at"), "sources", ["next_due_at"], unique=False)
    op.create_table(
        "instance_locks",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("acquired_at", feedbot.models.UTCDateTime(), nullable=True),
        sa.Column("heartbeat_at", feedbot.models.UTCDateTime(), nullable=True),
        sa.Column("expires_at", feedbot.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("instance_locks")
    op.drop_index(op.f("ix_sources_next_due_at"), table_name="sources")
    with op.batch_alter_table("sources") as batch:
        for name, _ in reversed(_SOURCE_COLUMNS):
            batch.drop_column(name)
