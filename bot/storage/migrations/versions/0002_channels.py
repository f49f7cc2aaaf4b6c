"""Key users, updates and reminders by (channel, id).

A Telegram user id and a terminal user are different people, and an update id is only
unique within its channel. Existing rows were all Telegram's except the terminal chat's
single user ("terminal"). Reminders name a channel and an address on it (a Telegram chat
id, as text) instead of a Telegram chat id.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

CHANNEL_OF_ROW = "CASE WHEN user_id = 'terminal' THEN 'terminal' ELSE 'telegram' END"


def _channel() -> sa.Column:
    return sa.Column("channel", sa.String(32), nullable=False, server_default="telegram")


def upgrade() -> None:
    # Primary keys change, so these two tables are copied into their new shape.
    op.create_table(
        "conversations_v2",
        _channel(),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("state", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "user_id", name="pk_conversations"),
    )
    op.execute(
        "INSERT INTO conversations_v2 (channel, user_id, state, version, updated_at) "
        f"SELECT {CHANNEL_OF_ROW}, user_id, state, version, updated_at FROM conversations"
    )
    op.drop_table("conversations")
    op.rename_table("conversations_v2", "conversations")

    op.create_table(
        "processed_updates_v2",
        _channel(),
        sa.Column("update_id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "update_id", name="pk_processed_updates"),
    )
    op.execute(
        "INSERT INTO processed_updates_v2 (channel, update_id, user_id, processed_at) "
        f"SELECT {CHANNEL_OF_ROW}, update_id, user_id, processed_at FROM processed_updates"
    )
    op.drop_table("processed_updates")
    op.rename_table("processed_updates_v2", "processed_updates")
    op.create_index("ix_processed_updates_user", "processed_updates", ["channel", "user_id"])
    op.create_index("ix_processed_updates_processed_at", "processed_updates", ["processed_at"])

    with op.batch_alter_table("assessments") as batch:
        batch.add_column(_channel())
    op.execute(f"UPDATE assessments SET channel = {CHANNEL_OF_ROW}")
    op.create_index("ix_assessments_user", "assessments", ["channel", "user_id"])

    with op.batch_alter_table("reminders") as batch:
        batch.add_column(_channel())
        batch.add_column(sa.Column("address", sa.String(64), nullable=True))
    op.execute("UPDATE reminders SET address = CAST(chat_id AS VARCHAR(64))")
    with op.batch_alter_table("reminders") as batch:
        batch.alter_column("address", existing_type=sa.String(64), nullable=False)
        batch.drop_column("chat_id")
    op.create_index("ix_reminders_user", "reminders", ["channel", "user_id"])


def downgrade() -> None:
    raise NotImplementedError("0002 is not reversible: channels cannot be folded back")
