"""The statements every update runs, built once with bound parameters.

Building a SQLAlchemy expression and its cache key costs more than SQLite takes to run
it: on the hot path (load a user's state and claim, commit a step, record a send) that
was about half of the store's time for one update (cProfile of the store's thread while
a conversation service answered 300 questions). A statement built once keeps its cache
key, so each execution only binds values. Everything else in :mod:`bot.storage.sql`
builds its SQL where it is used.
"""

from __future__ import annotations

import sqlalchemy as sa

from bot.storage.schema import conversations, inbox, outbox, processed_updates

_channel = sa.bindparam("b_channel")
_user = sa.bindparam("b_user")
_update = sa.bindparam("b_update")

LOAD_STATE = sa.select(conversations.c.state, conversations.c.version).where(
    conversations.c.channel == _channel, conversations.c.user_id == _user
)
"""The user's state and version: ``b_channel``, ``b_user``."""

IS_PROCESSED = sa.select(processed_updates.c.update_id).where(
    processed_updates.c.channel == _channel, processed_updates.c.update_id == _update
)
"""Whether an update was processed: ``b_channel``, ``b_update``."""

UNPROCESSED = ~sa.exists(
    sa.select(processed_updates.c.update_id).where(
        processed_updates.c.channel == inbox.c.channel,
        processed_updates.c.update_id == inbox.c.update_id,
    )
)
"""Inbox rows without a processed_updates row: received, not yet processed."""

EARLIER_WAITING = (
    sa.select(inbox.c.update_id)
    .where(
        inbox.c.channel == _channel,
        inbox.c.user_id == _user,
        inbox.c.update_id < _update,
        UNPROCESSED,
    )
    .order_by(inbox.c.update_id)
)
"""The user's updates before ``b_update`` still waiting in the inbox."""

INSERT_PROCESSED = processed_updates.insert()
INSERT_CONVERSATION = conversations.insert()
INSERT_OUTBOX = outbox.insert()

UPDATE_STATE = (
    conversations.update()
    .where(
        conversations.c.channel == _channel,
        conversations.c.user_id == _user,
        conversations.c.version == sa.bindparam("b_version"),
    )
    .values(
        version=sa.bindparam("b_new_version"),
        state=sa.bindparam("b_state", type_=conversations.c.state.type),
        updated_at=sa.bindparam("b_updated_at", type_=conversations.c.updated_at.type),
    )
)
"""The optimistic write of a step: only if ``b_version`` is still the stored version."""

OUTBOX_SENT = (
    outbox.update()
    .where(outbox.c.id == sa.bindparam("b_id"))
    .values(
        sent_count=sa.bindparam("b_sent_count"),
        sent_at=sa.bindparam("b_sent_at", type_=outbox.c.sent_at.type),
    )
)
"""An outbox entry sent whole: ``b_id``, ``b_sent_count``, ``b_sent_at``."""
