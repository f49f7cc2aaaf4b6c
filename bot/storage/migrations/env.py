"""Alembic environment: runs on the connection the store hands over at start-up."""

from __future__ import annotations

from alembic import context

from bot.storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - migrations always run through SqlStore.migrate
    raise RuntimeError("run migrations through bot.storage.sql.SqlStore.migrate()")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
