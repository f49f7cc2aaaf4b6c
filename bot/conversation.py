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
from datetime import UTC, datetime, timedelta

from bot.assessment.report import history_text
from bot.engine import Engine, Incoming, Reply
from bot.engine.messages import Button
from bot.storage.base import Conflict, Store, UserSession

log = logging.getLogger(__name__)

PRIVACY_TEXT = (
    "What CalfCoach keeps, and why:\n"
    "• your conversation state (a self-test in progress), so you can resume it;\n"
    "• your self-test numbers, findings and programs with their dates, for /history and /program;\n"
    "• the ids of processed Telegram updates, so a redelivered message is not answered twice.\n\n"
    "Your messages' text is not logged. Nothing is shared with anyone. "
    "/delete_my_data removes all of it."
)
REMINDER_TEXT = (
    "Time to re-test your calves! It has been {weeks} weeks since your program. "
    "Type /assess to take the self-test again and see what changed (/history compares)."
)
MAX_ATTEMPTS = 8
DELETE_PAYLOAD = "data:delete"
KEEP_PAYLOAD = "data:keep"


class Conversations:
    """The application service between channels and the engine."""

    def __init__(self, engine: Engine, store: Store) -> None:
        self.engine = engine
        self.store = store

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Run one update; a :class:`Conflict` (another replica won the race) re-runs it."""
        for attempt in range(MAX_ATTEMPTS):
            try:
                return await self._step(incoming)
            except Conflict:
                log.info(
                    "conflict for user %s (attempt %s); retrying", incoming.user_id, attempt + 1
                )
                await asyncio.sleep(0.005 * (attempt + 1))
        return await self._step(incoming)

    async def _step(self, incoming: Incoming) -> list[Reply]:
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
            if incoming.payload and incoming.payload.startswith("remind:"):
                return [await self._remind(session, incoming)]
            if command == "/history":
                return await self._history(session)
            completed = session.state.tests_completed
            step = await asyncio.to_thread(self.engine.handle, session.state, incoming)
            state = step.state
            if state.tests_completed > completed and state.last_input and state.last_result:
                await session.add_result(state.last_input, state.last_result)
            await session.save(state)
            return step.replies

    async def _remind(self, session: UserSession, incoming: Incoming) -> Reply:
        weeks = incoming.payload.removeprefix("remind:") if incoming.payload else "no"
        if not weeks.isdigit():
            return Reply("OK, no reminder. Type /assess whenever you want to re-test.", edit=True)
        due = datetime.now(UTC) + timedelta(weeks=int(weeks))
        chat_id = incoming.chat_id
        if chat_id is None and incoming.user_id.lstrip("-").isdigit():
            chat_id = int(incoming.user_id)
        if chat_id is None:
            return Reply(f"I can only send reminders on Telegram. Re-test on {due:%d %B %Y}.")
        await session.add_reminder(chat_id, due, REMINDER_TEXT.format(weeks=weeks))
        return Reply(f"Done: I'll remind you on {due:%d %B %Y} to re-test.", edit=True)

    async def _history(self, session: UserSession) -> list[Reply]:
        results = await session.results()
        replies = [Reply(history_text(results), kind="history")]
        if results:
            from bot.charts import results_chart

            previous = results[-2].input if len(results) > 1 else None
            try:
                image = await asyncio.to_thread(results_chart, results[-1].input, previous)
                replies.append(Reply("", image=image, kind="chart"))
            except Exception:
                log.exception("history chart failed")
        return replies
