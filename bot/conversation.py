"""One conversation step, whatever the channel: lock, load, step, save.

Channels (terminal, Telegram) turn their input into an :class:`Incoming` and call
:meth:`Conversations.handle`; it claims the update id (a redelivery is a no-op), runs the
engine off the event loop, stores a finished self-test, and saves the new state, all in
one store session (a unit of work). The commands that need the store (/history,
/privacy, /delete_my_data, /report and coach mode's /coach, /clients, /coaches) and the
buttons that write to it (reminders, deletion, consent...) are bound here; the engine
binds the rest, and the command table checks the two together.

Messages for *other* users (a coach's notification, a coach's note to a client) are
collected in an :class:`~bot.coaching.Outbox` during the step and sent only after it has
committed, through the recipient's own channel (:attr:`Conversations.outputs`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.assessment.report import history_text
from bot.channels import OutputChannel
from bot.coaching import START_PREFIX, Coaching, Outbox, Push
from bot.engine import Engine, Incoming, Reply
from bot.engine.messages import Button
from bot.payloads import (
    BadPayload,
    ClientAction,
    ClientFaq,
    Consent,
    DataChoice,
    NewInvite,
    Remind,
    ReportRequest,
    StopSharing,
    encode,
    parse_payload,
)
from bot.report import render_png
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
        self.coaching = Coaching(engine, store)
        # Where messages for other users go, by channel name; channels that can push
        # (Telegram) add themselves when they start.
        self.outputs: dict[str, OutputChannel] = {}
        self._background: set[asyncio.Task[None]] = set()
        self.store_commands: dict[str, StoreCommand] = {
            "history": self._history,
            "privacy": self._privacy,
            "delete_my_data": self._delete_my_data,
            "report": self._report,
            "coach": self.coaching.coach_command,
            "clients": self.coaching.clients,
            "coaches": self.coaching.coaches,
        }
        engine.commands.check_bound([*engine.command_handlers, *self.store_commands])

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Run one update; a :class:`Conflict` (another replica won the race) re-runs it.
        Messages for other users go out once the step has committed."""
        for attempt in range(MAX_ATTEMPTS):
            try:
                replies, outbox = await self._step(incoming)
                break
            except Conflict:
                log.info("conflict on a conversation step (attempt %s); retrying", attempt + 1)
                await asyncio.sleep(0.005 * (attempt + 1))
        else:
            replies, outbox = await self._step(incoming)
        await self._deliver(outbox)
        return replies

    async def _step(self, incoming: Incoming) -> tuple[list[Reply], Outbox]:
        outbox = Outbox()
        async with self.store.session(incoming.key) as session:
            if incoming.update_id is not None and not await session.claim_update(
                incoming.update_id
            ):
                log.info("update %s already processed; skipping", incoming.update_id)
                return [], outbox
            replies = await self._store_step(session, incoming, outbox)
            if replies is not None:
                return replies, outbox
            completed = session.state.tests_completed
            step = await asyncio.to_thread(self.engine.handle, session.state, incoming)
            state = step.state
            if state.tests_completed > completed and state.last_input and state.last_result:
                await session.add_result(state.last_input, state.last_result)
                results = await session.results()
                await self.coaching.test_completed(session, incoming, results, outbox)
            await session.save(state)
            return step.replies, outbox

    async def _store_step(
        self, session: UserSession, incoming: Incoming, outbox: Outbox
    ) -> list[Reply] | None:
        """The store's own commands and buttons; None hands the update to the engine."""
        if incoming.payload is not None:
            try:
                payload = parse_payload(incoming.payload)
            except BadPayload:
                return None  # the engine answers it, re-asking an open step
            replies = await self._store_button(session, incoming, payload, outbox)
            in_test = session.state.assessment is not None
            if replies is not None and in_test and not isinstance(payload, DataChoice | Remind):
                replies.append(self.engine.prompt(session.state))  # coach mode mid-test
            return replies
        command = self.engine.commands.parse(incoming.text)
        if command is None or command.spec is None:
            return None
        if command.name == "start" and command.argument.startswith(START_PREFIX):
            code = command.argument.removeprefix(START_PREFIX)
            replies = await self.coaching.invitation(session, incoming, code)
        else:
            handler = self.store_commands.get(command.name)
            if handler is None:
                return None
            replies = await handler(session, incoming)
        if session.state.assessment is not None and command.spec.in_test == "reask":
            replies.append(self.engine.prompt(session.state))
        return replies

    async def _store_button(
        self, session: UserSession, incoming: Incoming, payload: object, outbox: Outbox
    ) -> list[Reply] | None:
        """Buttons that read or write the store; None for the engine's own."""
        coaching = self.coaching
        match payload:
            case DataChoice(delete=False):
                return [Reply(self.phrases.not_deleted, edit=True)]
            case DataChoice(delete=True):
                await session.delete_everything()
                return [Reply(self.phrases.deleted, edit=True)]
            case Remind():
                return [await self._remind(session, incoming, payload)]
            case NewInvite():
                return await coaching.new_invite(session, incoming)
            case Consent():
                return await coaching.consent(session, incoming, payload, outbox)
            case ClientAction():
                # /clients stays a menu: its buttons remain for the next client.
                replies = await coaching.client_action(session, incoming, payload, outbox)
                return [replace(replies[0], keep_buttons=True), *replies[1:]]
            case ClientFaq():
                return await coaching.client_faq(session, incoming, payload, outbox)
            case StopSharing():
                return await coaching.stop_sharing(session, incoming, payload)
            case ReportRequest():
                return await coaching.report_request(session, incoming, payload)
        return None

    async def _deliver(self, outbox: Outbox) -> None:
        """Send the step's messages for other users through their channels. Plain ones
        go now; one with a report is rendered and sent in the background, so the user
        who finished a test does not wait for their coach's copy."""
        for push in outbox.pushes:
            if push.report is None:
                await self._push(push)
                continue
            task = asyncio.create_task(self._push(push))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _push(self, push: Push) -> None:
        output = self.outputs.get(push.channel)
        if output is None:
            log.warning(
                "no output channel %r here; a message for another user is dropped", push.channel
            )
            return
        try:
            replies = list(push.replies)
            if push.report is not None:
                words = self.coaching.report_words
                image = await asyncio.to_thread(render_png, push.report, words)
                replies.append(
                    Reply(push.caption, image=image, buttons=push.buttons, kind="report")
                )
            await output.send(push.address, replies)
        except Exception:
            log.warning("a message for another user was not sent", exc_info=True)

    async def drain(self) -> None:
        """Wait for messages still being sent in the background (tests, shutdown)."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def _report(self, session: UserSession, incoming: Incoming) -> list[Reply]:
        return await self.coaching.own_report(session, incoming, pdf=False)

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
