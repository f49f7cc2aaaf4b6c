"""The database schema (SQLAlchemy Core). Alembic migrations in ``migrations/`` create it.

Users are keyed by ``(channel, user_id)``: the same id on two transports is two people,
and an update id is unique only within its channel.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from bot.assessment.models import AssessmentInput, AssessmentResult
from bot.storage.base import StoredResult

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

coaches = sa.Table(
    "coaches",
    metadata,
    _channel(),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("display_name", sa.String(64), nullable=False),
    # The current invite code; a new one replaces it, so the old link stops working.
    sa.Column("invite_code", sa.String(64), nullable=False),
    sa.Column("address", sa.String(64), nullable=True),  # where notifications reach the coach
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("channel", "user_id", name="pk_coaches"),
    sa.UniqueConstraint("invite_code", name="uq_coaches_invite_code"),
)

# One row per consenting client of a coach: a row exists only after the client pressed
# Share, and is deleted when they stop sharing (or either side deletes their data).
coach_links = sa.Table(
    "coach_links",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("coach_channel", sa.String(32), nullable=False),
    sa.Column("coach_user_id", sa.String(64), nullable=False),
    sa.Column("client_channel", sa.String(32), nullable=False),
    sa.Column("client_user_id", sa.String(64), nullable=False),
    sa.Column("client_name", sa.String(64), nullable=False),
    sa.Column("client_address", sa.String(64), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint(
        "coach_channel", "coach_user_id", "client_channel", "client_user_id", name="uq_coach_links"
    ),
    sa.Index("ix_coach_links_client", "client_channel", "client_user_id"),
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
)  # keyed (channel, user_id)


def utc(value: datetime) -> datetime:
    """A timestamp as read back: SQLite returns naive datetimes of what was stored as UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def stored_result(row: Any) -> StoredResult:
    """A row of ``assessments`` (taken_at, input, result) as a :class:`StoredResult`."""
    return StoredResult(
        utc(row.taken_at),
        AssessmentInput.model_validate(row.input),
        AssessmentResult.model_validate(row.result),
    )
