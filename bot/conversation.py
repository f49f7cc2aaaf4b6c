"""One conversation step, whatever the channel: lock, load, step, save.

Channels (terminal, Telegram) turn their input into an :class:`Incoming` and call
:meth:`Conversations.process` (or :meth:`Conversations.handle` for the replies alone); it
claims the update id (a redelivery is a no-op), runs the engine off the event loop,
stores a finished self-test, saves the new state and, for a channel that can push
(``incoming.address``), stores the replies in the outbox, all in one store session (a
unit of work). Earlier updates of the user still waiting in the inbox are applied first
(:attr:`Conversations.catch_up`), so one user's updates apply in update order on any
number of replicas. Messages the engine cannot read (a sticker, an edit of an earlier
message) get a clear answer here, with the open self-test step asked again. The commands
that need the store (/history, /privacy, /delete_my_data, /report and coach mode's
/coach, /clients, /coaches) and the buttons that write to it (reminders, deletion,
consent...) are bound here; the engine binds the rest, and the command
table checks the two together.

Messages for *other* users (a coach's notification, a coach's note to a client) are
collected as :class:`~bot.coaching.Notices` during the step, stored in the outbox in the
step's own transaction and sent once it has committed, through the recipient's channel
(:attr:`Conversations.outputs`); a crash in between leaves them for a sweeper. A coach's
copy of a report is drawn when it is sent, from the stored results.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from bot.assessment.report import history_text
from bot.channels import OutputChannel
from bot.coaching import START_PREFIX, Coaching, Notices
from bot.engine import Engine, Incoming, Reply
from bot.engine.messages import Button
from bot.outbox import Delivery, encode_replies
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
from bot.storage.base import Behind, Conflict, OutboxEntry, Store, UserKey, UserSession

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# Engine steps run in worker threads and wait on the shared encoder batch. The int8
# encoder embeds each text alone on one worker per core, so more steps in flight than a
# few only contend for the GIL with the event loop: Telegram e2e at 100 updates/s, six
# runs each, p99 median about 90 ms with 4 workers against about 150 with 16, flat out
# the same. Every channel's loop uses this many (see :func:`use_engine_workers`).
ENGINE_WORKERS = 4


def use_engine_workers(loop: asyncio.AbstractEventLoop) -> None:
    """Give ``loop`` the worker threads engine steps run in."""
    loop.set_default_executor(
        ThreadPoolExecutor(max_workers=ENGINE_WORKERS, thread_name_prefix="calfcoach")
    )


StoreCommand = Callable[[UserSession, Incoming], Awaitable[list[Reply]]]
CatchUp = Callable[[UserKey, int], Awaitable[None]]
# What a channel could not turn into text: a sticker, photo, voice message, file or
# location ("unreadable"), or an edit of a message already answered ("edited").
Special = Literal["unreadable", "edited"]
MAX_CATCH_UPS = 4  # rounds of applying earlier inbox rows before a step gives up


@dataclass(frozen=True)
class Outcome:
    """What a step produced: its replies, and the outbox entry they were stored in (None
    when the channel cannot push, or the update was a redelivery)."""

    replies: list[Reply]
    outbox: OutboxEntry | None = None
    pushed: tuple[OutboxEntry, ...] = ()  # messages for other users, stored with the step


class Conversations:
    """The application service between channels and the engine."""

    def __init__(self, engine: Engine, store: Store, *, retention_hours: float = 72.0) -> None:
        self.engine = engine
        self.store = store
        self.retention_hours = retention_hours  # what /privacy says the inbox etc. keep
        self.phrases = engine.phrases
        self.coaching = Coaching(engine, store)
        # Where messages for other users go, by channel name; channels that can push
        # (Telegram) add themselves when they start.
        self.outputs: dict[str, OutputChannel] = {}
        # Sends every outbox entry of this process, the step's own replies and messages
        # for other users alike (a channel's handlers and its sweeper use it too).
        self.delivery = Delivery(store, self.outputs, prepare=self.coaching.prepare)
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
        # Set by a channel with a durable inbox: applies the user's stored updates below
        # an update id (each through the whole channel pipeline) before this one.
        self.catch_up: CatchUp | None = None

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Run one update and return its replies (see :meth:`process`)."""
        return (await self.process(incoming)).replies

    async def process(
        self, incoming: Incoming, *, pressed: str | None = None, special: Special | None = None
    ) -> Outcome:
        """Run one update; a :class:`Conflict` (another replica won the race) re-runs it,
        and earlier unprocessed updates of the user are applied first. ``pressed`` is the
        channel's id of the message whose button was pressed (an edit reply replaces it).
        Messages for other users go out once the step has committed."""
        catch_ups = 0
        for attempt in range(MAX_ATTEMPTS):
            try:
                outcome = await self._step(incoming, pressed, special)
                break
            except Conflict:
                log.info("conflict on a conversation step (attempt %s); retrying", attempt + 1)
                await asyncio.sleep(0.005 * (attempt + 1))
            except Behind:
                catch_ups += 1
                if self.catch_up is None or incoming.update_id is None:
                    raise
                if catch_ups > MAX_CATCH_UPS:
                    raise
                log.info("update %s waits for earlier ones of its user", incoming.update_id)
                await self.catch_up(incoming.key, incoming.update_id)
        else:
            outcome = await self._step(incoming, pressed, special)
        await self._deliver(outcome.pushed)
        return outcome

    async def _step(
        self, incoming: Incoming, pressed: str | None, special: Special | None
    ) -> Outcome:
        notices = Notices()
        async with self.store.session(incoming.key, update_id=incoming.update_id) as session:
            if incoming.update_id is not None and not await session.claim_update(
                incoming.update_id
            ):
                log.info("update %s already processed; skipping", incoming.update_id)
                return Outcome([])
            replies = await self._replies(session, incoming, special, notices)
            if replies and incoming.address is not None:
                await session.add_outbox(incoming.address, encode_replies(replies), pressed)
            for push in notices.pushes:
                await session.add_push(push.to, push.address, encode_replies(list(push.replies)))
        return Outcome(replies, session.outbox, session.pushed)

    async def _replies(
        self, session: UserSession, incoming: Incoming, special: Special | None, notices: Notices
    ) -> list[Reply]:
        """The step itself: a special message, a store command or button, or the engine."""
        if special is not None:
            return self._special(session, special)
        replies = await self._store_step(session, incoming, notices)
        if replies is not None:
            return replies
        completed = session.state.tests_completed
        step = await asyncio.to_thread(self.engine.handle, session.state, incoming)
        state = step.state
        if state.tests_completed > completed and state.last_input and state.last_result:
            await session.add_result(state.last_input, state.last_result)
            results = await session.results()
            await self.coaching.test_completed(session, incoming, results, notices)
        await session.save(state)
        return step.replies

    def _special(self, session: UserSession, special: Special) -> list[Reply]:
        """A message the engine cannot read: say so, and ask the open step again. An edit
        is never taken as new input: mid-test it would fill the *current* step with a
        correction meant for an earlier one."""
        in_test = session.state.assessment is not None
        if special == "unreadable":
            text = self.phrases.text_only
        else:
            text = self.phrases.edit_in_test if in_test else self.phrases.edit_outside_test
        replies = [Reply(text)]
        if in_test:
            replies.append(self.engine.prompt(session.state))
        return replies

    async def _store_step(
        self, session: UserSession, incoming: Incoming, notices: Notices
    ) -> list[Reply] | None:
        """The store's own commands and buttons; None hands the update to the engine."""
        if incoming.payload is not None:
            try:
                payload = parse_payload(incoming.payload)
            except BadPayload:
                return None  # the engine answers it, re-asking an open step
            replies = await self._store_button(session, incoming, payload, notices)
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
        self, session: UserSession, incoming: Incoming, payload: object, notices: Notices
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
                return await coaching.consent(session, incoming, payload, notices)
            case ClientAction():
                # /clients stays a menu: its buttons remain for the next client.
                replies = await coaching.client_action(session, incoming, payload, notices)
                return [replace(replies[0], keep_buttons=True), *replies[1:]]
            case ClientFaq():
                return await coaching.client_faq(session, incoming, payload, notices)
            case StopSharing():
                return await coaching.stop_sharing(session, incoming, payload)
            case ReportRequest():
                return await coaching.report_request(session, incoming, payload)
        return None

    async def _deliver(self, entries: tuple[OutboxEntry, ...]) -> None:
        """Send the step's messages for other users, stored with its commit. Plain ones
        go now; a report is drawn and sent in the background, so the user who finished a
        test does not wait for their coach's copy. What does not go out (no channel
        here, a crash) is sent by a sweeper from the outbox."""
        for entry in entries:
            if not any(r.get("report_link") is not None for r in entry.replies):
                await self.delivery.send(entry)
                continue
            task = asyncio.create_task(self._send_quietly(entry))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _send_quietly(self, entry: OutboxEntry) -> None:
        try:
            await self.delivery.send(entry)
        except Exception:
            log.warning(
                "outbox %s: a message for another user was not sent", entry.id, exc_info=True
            )

    async def drain(self) -> None:
        """Wait for messages still being sent in the background (tests, shutdown)."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def _report(self, session: UserSession, incoming: Incoming) -> list[Reply]:
        return await self.coaching.own_report(session, incoming, pdf=False)

    async def _privacy(self, session: UserSession, incoming: Incoming) -> list[Reply]:
        return [Reply(self.phrases.privacy.format(hours=f"{self.retention_hours:g}"))]

    async def _delete_my_data(self, session: UserSession, incoming: Incoming) -> list[Reply]:
        buttons = (
            (
                Button(self.phrases.delete_yes_button, payload=encode(DataChoice(delete=True))),
                Button(self.phrases.delete_no_button, payload=encode(DataChoice(delete=False))),
            ),
        )
        return [Reply(self.phrases.delete_confirm, buttons=buttons)]

    async def _remind(self, session: UserSession, incoming: Incoming, payload: Remind) -> Reply:
        """One reminder per completed self-test, in the weeks its program said: a double
        tap, or a payload the program did not offer (forged), changes nothing."""
        if payload.weeks is None:
            return Reply(self.phrases.reminder_declined, edit=True)
        state = session.state
        program = state.last_result.program if state.last_result else None
        if program is None or payload.weeks != program.retest_after_weeks:
            return Reply(self.phrases.reminder_not_offered)
        if await session.has_reminder(state.tests_completed):
            return Reply(self.phrases.reminder_already_set)
        due = datetime.now(UTC) + timedelta(weeks=payload.weeks)
        date = f"{due:%d %B %Y}"
        if incoming.address is None:
            return Reply(self.phrases.reminder_unavailable.format(date=date))
        text = self.phrases.reminder_text.format(weeks=payload.weeks)
        await session.add_reminder(incoming.address, due, text, state.tests_completed)
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
