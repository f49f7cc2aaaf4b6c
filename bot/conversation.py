"""One conversation step, whatever the channel: lock, load, step, save.

Channels (terminal, Telegram) turn their input into an :class:`Incoming` and call
:meth:`Conversations.handle`; it claims the update id (a redelivery is a no-op), runs the
engine off the event loop, stores a finished self-test, and saves the new state, all in
one store session (a unit of work). The commands that need the store (/history,
/privacy, /delete_my_data) and the buttons that write to it (reminders, deletion) are
bound here; the engine binds the rest, and the command table checks the two together.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from bot.assessment.report import history_text
from bot.engine import Engine, Incoming, Reply
from bot.engine.messages import Button
from bot.payloads import BadPayload, DataChoice, Remind, encode, parse_payload
from bot.storage.base import Conflict, Store, UserSession

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# Engine steps run in worker threads and wait on the shared encoder batch: enough workers
# for concurrent users to share batches, few enough not to starve the event loop. Every
# channel's loop uses this many (see :func:`use_engine_workers`).
ENGINE_WORKERS = 16


def use_engine_workers(loop: asyncio.AbstractEventLoop) -> None:
    """Give ``loop`` the worker threads engine steps run in."""
    loop.set_default_executor(
        ThreadPoolExecutor(max_workers=ENGINE_WORKERS, thread_name_prefix="calfcoach")
    )


StoreCommand = Callable[[UserSession, Incoming], Awaitable[list[Reply]]]


class Conversations:
    """The application service between channels and the engine."""

    def __init__(self, engine: Engine, store: Store) -> None:
        self.engine = engine
        self.store = store
        self.phrases = engine.phrases
        self.store_commands: dict[str, StoreCommand] = {
            "history": self._history,
            "privacy": self._privacy,
            "delete_my_data": self._delete_my_data,
        }
        engine.commands.check_bound([*engine.command_handlers, *self.store_commands])

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Run one update; a :class:`Conflict` (another replica won the race) re-runs it."""
        for attempt in range(MAX_ATTEMPTS):
            try:
                return await self._step(incoming)
            except Conflict:
                log.info("conflict on a conversation step (attempt %s); retrying", attempt + 1)
                await asyncio.sleep(0.005 * (attempt + 1))
        return await self._step(incoming)

    async def _step(self, incoming: Incoming) -> list[Reply]:
        async with self.store.session(incoming.key) as session:
            if incoming.update_id is not None and not await session.claim_update(
                incoming.update_id
            ):
                log.info("update %s already processed; skipping", incoming.update_id)
                return []
            replies = await self._store_step(session, incoming)
            if replies is not None:
                return replies
            completed = session.state.tests_completed
            step = await asyncio.to_thread(self.engine.handle, session.state, incoming)
            state = step.state
            if state.tests_completed > completed and state.last_input and state.last_result:
                await session.add_result(state.last_input, state.last_result)
            await session.save(state)
            return step.replies

    async def _store_step(self, session: UserSession, incoming: Incoming) -> list[Reply] | None:
        """The store's own commands and buttons; None hands the update to the engine."""
        if incoming.payload is not None:
            try:
                payload = parse_payload(incoming.payload)
            except BadPayload:
                return None  # the engine answers it, re-asking an open step
            if isinstance(payload, DataChoice):
                if not payload.delete:
                    return [Reply(self.phrases.not_deleted, edit=True)]
                await session.delete_everything()
                return [Reply(self.phrases.deleted, edit=True)]
            if isinstance(payload, Remind):
                return [await self._remind(session, incoming, payload)]
            return None
        command = self.engine.commands.parse(incoming.text)
        if command is None or command.spec is None:
            return None
        handler = self.store_commands.get(command.name)
        if handler is None:
            return None
        replies = await handler(session, incoming)
        if session.state.assessment is not None and command.spec.in_test == "reask":
            replies.append(self.engine.prompt(session.state))
        return replies

    async def _privacy(self, session: UserSession, incoming: Incoming) -> list[Reply]:
        return [Reply(self.phrases.privacy)]

    async def _delete_my_data(self, session: UserSession, incoming: Incoming) -> list[Reply]:
        buttons = (
            (
                Button(self.phrases.delete_yes_button, payload=encode(DataChoice(delete=True))),
                Button(self.phrases.delete_no_button, payload=encode(DataChoice(delete=False))),
            ),
        )
        return [Reply(self.phrases.delete_confirm, buttons=buttons)]

    async def _remind(self, session: UserSession, incoming: Incoming, payload: Remind) -> Reply:
        if payload.weeks is None:
            return Reply(self.phrases.reminder_declined, edit=True)
        due = datetime.now(UTC) + timedelta(weeks=payload.weeks)
        date = f"{due:%d %B %Y}"
        if incoming.address is None:
            return Reply(self.phrases.reminder_unavailable.format(date=date))
        text = self.phrases.reminder_text.format(weeks=payload.weeks)
        await session.add_reminder(incoming.address, due, text)
        return Reply(self.phrases.reminder_set.format(date=date), edit=True)

    async def _history(self, session: UserSession, incoming: Incoming) -> list[Reply]:
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
