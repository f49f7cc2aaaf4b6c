"""The database schema (SQLAlchemy Core). Alembic migrations in ``migrations/`` create it.

Users are keyed by ``(channel, user_id)``: the same id on two transports is two people,
and an update id is unique only within its channel.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()


def _channel() -> sa.Column:
    return sa.Column("channel", sa.String(32), nullable=False, server_default="telegram")


conversations = sa.Table(
    "conversations",
    metadata,
    _channel(),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("state", sa.JSON, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, default=0),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("channel", "user_id", name="pk_conversations"),
)

processed_updates = sa.Table(
    "processed_updates",
    metadata,
    _channel(),
    sa.Column("update_id", sa.BigInteger, nullable=False, autoincrement=False),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("channel", "update_id", name="pk_processed_updates"),
    sa.Index("ix_processed_updates_user", "channel", "user_id"),
    sa.Index("ix_processed_updates_processed_at", "processed_at"),
)

assessments = sa.Table(
    "assessments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(64), nullable=False, index=True),
    sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("input", sa.JSON, nullable=False),
    sa.Column("result", sa.JSON, nullable=False),
    _channel(),
    sa.Index("ix_assessments_user", "channel", "user_id"),
)

reminders = sa.Table(
    "reminders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(64), nullable=False, index=True),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("claimed_by", sa.String(64), nullable=True),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    _channel(),
    sa.Column("address", sa.String(64), nullable=False),
    # The self-test (its number among the user's completed ones) the reminder follows:
    # one reminder per completed test, however often the button is pressed.
    sa.Column("test_number", sa.Integer, nullable=True),
    sa.Index("ix_reminders_user", "channel", "user_id"),
    sa.Index("ux_reminders_test", "channel", "user_id", "test_number", unique=True),
)

inbox = sa.Table(
    "inbox",
    metadata,
    _channel(),
    sa.Column("update_id", sa.BigInteger, nullable=False, autoincrement=False),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("address", sa.String(64), nullable=True),
    sa.Column("body", sa.JSON, nullable=False),  # the update as the channel sent it
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.PrimaryKeyConstraint("channel", "update_id", name="pk_inbox"),
    sa.Index("ix_inbox_user", "channel", "user_id", "update_id"),
    sa.Index("ix_inbox_received_at", "received_at"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    _channel(),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("address", sa.String(64), nullable=False),
    sa.Column("pressed", sa.String(64), nullable=True),  # the message an edit replaces
    sa.Column("replies", sa.JSON, nullable=False),
    sa.Column("sent_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("claimed_by", sa.String(64), nullable=True),
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("failed", sa.String(200), nullable=True),
    sa.Index("ix_outbox_user", "channel", "user_id"),
    sa.Index("ix_outbox_unsent", "sent_at", "created_at"),
)

button_messages = sa.Table(
    "button_messages",
    metadata,
    _channel(),
    sa.Column("address", sa.String(64), nullable=False),
    sa.Column("message_id", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("channel", "address", "message_id", name="pk_button_messages"),
    sa.Index("ix_button_messages_user", "channel", "user_id"),
    sa.Index("ix_button_messages_sent_at", "sent_at"),
)

USER_TABLES = (
    conversations,
    processed_updates,
    assessments,
    reminders,
    inbox,
    outbox,
    button_messages,
)
