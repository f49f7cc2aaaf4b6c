"""Durable delivery: the inbox (updates stored before they are acknowledged), the outbox
(replies stored with the state they came from, sent from there), the owners of messages
with buttons, and one reminder per completed self-test.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _channel() -> sa.Column:
    return sa.Column("channel", sa.String(32), nullable=False, server_default="telegram")


def upgrade() -> None:
    op.create_table(
        "inbox",
        _channel(),
        sa.Column("update_id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=True),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("channel", "update_id", name="pk_inbox"),
    )
    op.create_index("ix_inbox_user", "inbox", ["channel", "user_id", "update_id"])
    op.create_index("ix_inbox_received_at", "inbox", ["received_at"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _channel(),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("pressed", sa.String(64), nullable=True),
        sa.Column("replies", sa.JSON, nullable=False),
        sa.Column("sent_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed", sa.String(200), nullable=True),
    )
    op.create_index("ix_outbox_user", "outbox", ["channel", "user_id"])
    op.create_index("ix_outbox_unsent", "outbox", ["sent_at", "created_at"])
    op.create_table(
        "button_messages",
        _channel(),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "address", "message_id", name="pk_button_messages"),
    )
    op.create_index("ix_button_messages_user", "button_messages", ["channel", "user_id"])
    op.create_index("ix_button_messages_sent_at", "button_messages", ["sent_at"])
    with op.batch_alter_table("reminders") as batch:
        batch.add_column(sa.Column("test_number", sa.Integer, nullable=True))
    op.create_index(
        "ux_reminders_test", "reminders", ["channel", "user_id", "test_number"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ux_reminders_test", "reminders")
    with op.batch_alter_table("reminders") as batch:
        batch.drop_column("test_number")
    op.drop_table("button_messages")
    op.drop_table("outbox")
    op.drop_table("inbox")
