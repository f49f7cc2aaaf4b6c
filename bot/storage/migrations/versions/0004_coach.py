"""Coach mode: coaches with their current invite code, and consenting clients' links.

A link row exists only once a client has pressed Share; stopping sharing or deleting
either side's data deletes it. Chained after 0002 for now; the lead re-chains it after
0003 at merge.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coaches",
        sa.Column("channel", sa.String(32), nullable=False, server_default="telegram"),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(64), nullable=False),
        sa.Column("invite_code", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "user_id", name="pk_coaches"),
        sa.UniqueConstraint("invite_code", name="uq_coaches_invite_code"),
    )
    op.create_table(
        "coach_links",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("coach_channel", sa.String(32), nullable=False),
        sa.Column("coach_user_id", sa.String(64), nullable=False),
        sa.Column("client_channel", sa.String(32), nullable=False),
        sa.Column("client_user_id", sa.String(64), nullable=False),
        sa.Column("client_name", sa.String(64), nullable=False),
        sa.Column("client_address", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "coach_channel",
            "coach_user_id",
            "client_channel",
            "client_user_id",
            name="uq_coach_links",
        ),
    )
    op.create_index("ix_coach_links_client", "coach_links", ["client_channel", "client_user_id"])


def downgrade() -> None:
    op.drop_index("ix_coach_links_client", table_name="coach_links")
    op.drop_table("coach_links")
    op.drop_table("coaches")
