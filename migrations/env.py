"""Alembic environment: feedbot passes its engine in ``config.attributes['engine']``."""

from alembic import context
from sqlmodel import SQLModel

import feedbot.models  # noqa: F401  (registers the tables on SQLModel.metadata)

engine = context.config.attributes.get("engine")
if engine is None:
    raise RuntimeError("run migrations through 'feedbot db upgrade', which supplies the engine")

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
