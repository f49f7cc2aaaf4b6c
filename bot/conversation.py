"""One conversation step, whatever the channel: lock, load, step, save.

Channels (terminal, Telegram) turn their input into an :class:`Incoming` and call
:meth:`Conversations.handle`; it claims the update id (a redelivery is a no-op), runs the
engine off the event loop, stores a finished self-test, and saves the new state, all in
one store session. Data commands (/history, /privacy, /delete_my_data) live here because
they need the store, which the engine never sees.
"""

from __future__ import annotations

import asyncio
import logging

from bot.assessment.report import history_text
from bot.engine import Engine, Incoming, Reply
from bot.engine.messages import Button
from bot.storage.base import Store

log = logging.getLogger(__name__)

PRIVACY_TEXT = (
    "What CalfCoach keeps, and why:\n"
    "• your conversation state (a self-test in progress), so you can resume it;\n"
    "• your self-test numbers, findings and programs with their dates, for /history and /program;\n"
    "• the ids of processed Telegram updates, so a redelivered message is not answered twice.\n\n"
    "Your messages' text is not logged. Nothing is shared with anyone. "
    "/delete_my_data removes all of it."
)
DELETE_PAYLOAD = "data:delete"
KEEP_PAYLOAD = "data:keep"


class Conversations:
    """The application service between channels and the engine."""

    def __init__(self, engine: Engine, store: Store) -> None:
        self.engine = engine
        self.store = store

    async def handle(self, incoming: Incoming) -> list[Reply]:
        async with self.store.session(incoming.user_id) as session:
            if incoming.update_id is not None and not await session.claim_update(
                incoming.update_id
            ):
                log.info("update %s already processed; skipping", incoming.update_id)
                return []
            command = incoming.text.strip().split("@", 1)[0].split(" ", 1)[0].lower()
            if command == "/privacy":
                return [Reply(PRIVACY_TEXT)]
            if command == "/delete_my_data":
                return [
                    Reply(
                        "Delete everything CalfCoach keeps about you (test in progress, results, "
                        "programs)? This cannot be undone.",
                        buttons=(
                            (
                                Button("Yes, delete it all", payload=DELETE_PAYLOAD),
                                Button("No, keep it", payload=KEEP_PAYLOAD),
                            ),
                        ),
                    )
                ]
            if incoming.payload == DELETE_PAYLOAD:
                await session.delete_everything()
                return [Reply("Done: everything CalfCoach kept about you is deleted.", edit=True)]
            if incoming.payload == KEEP_PAYLOAD:
                return [Reply("OK, nothing was deleted.", edit=True)]
            if command == "/history":
                return [Reply(history_text(await session.results()))]
            completed = session.state.tests_completed
            step = await asyncio.to_thread(self.engine.handle, session.state, incoming)
            state = step.state
            if state.tests_completed > completed and state.last_input and state.last_result:
                await session.add_result(state.last_input, state.last_result)
            await session.save(state)
            return step.replies
