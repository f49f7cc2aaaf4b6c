"""The outbox: a step's replies are stored in the same transaction as its new state, then
sent from there, so a crash or a failing Bot API between the two loses nothing.

The process that ran the step sends its entry at once (:meth:`Delivery.send`), reply by
reply, retrying transient failures (a 5xx, a timeout, a 429 after its ``retry_after``)
a few times; what is still unsent is released with a time for the next attempt, and a
sweeper (:meth:`Delivery.sweep`, every few seconds on every replica) takes it then, or
takes an entry whose sender died (its claim is older than the lease). At start-up a
replica takes every entry left unsent from before it started. ``sent_count`` records
how many replies of an entry went out, so a retry resumes after them; a reply may be
sent twice only when the process dies between sending it and recording it (a duplicate
after a crash is acceptable, a lost reply is not).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.channels import OutputChannel
from bot.engine.messages import Button, Reply
from bot.storage.base import OutboxEntry, Progress, Store
from bot.storage.locks import UserLocks

log = logging.getLogger(__name__)

SEND_ATTEMPTS = 3  # tries per reply in the sending process before handing it to a sweeper
FIRST_DELAY = 0.5  # seconds; doubles per attempt
MAX_DELAY = 30.0
SWEEP_EVERY = 2.0  # seconds between sweeps for entries due a retry or orphaned
Prepare = Callable[[Reply], Awaitable[Reply | None]]


# -- replies as JSON ----------------------------------------------------------------------


def _button(button: Button) -> dict[str, Any]:
    fields = {
        "label": button.label,
        "payload": button.payload,
        "url": button.url,
        "share_query": button.share_query,
    }
    return {k: v for k, v in fields.items() if v is not None}


def encode_reply(reply: Reply) -> dict[str, Any]:
    """A reply as JSON (the guide answer behind it is not needed to send it)."""
    data: dict[str, Any] = {"text": reply.text, "kind": reply.kind}
    if reply.sections:
        data["sections"] = list(reply.sections)
    if reply.buttons:
        data["buttons"] = [[_button(b) for b in row] for row in reply.buttons]
    if reply.image is not None:
        data["image"] = base64.b64encode(reply.image).decode("ascii")
    if reply.document is not None:
        data["document"] = base64.b64encode(reply.document).decode("ascii")
        data["filename"] = reply.filename
    if reply.edit:
        data["edit"] = True
    if reply.keep_buttons:
        data["keep_buttons"] = True
    if reply.report_link is not None:
        data["report_link"] = reply.report_link
    return data


def decode_reply(data: Mapping[str, Any]) -> Reply:
    image, document = data.get("image"), data.get("document")
    return Reply(
        text=str(data.get("text", "")),
        sections=tuple(data.get("sections", ())),
        buttons=tuple(tuple(Button(**button) for button in row) for row in data.get("buttons", ())),
        image=base64.b64decode(image) if image is not None else None,
        document=base64.b64decode(document) if document is not None else None,
        filename=data.get("filename"),
        kind=str(data.get("kind", "text")),
        edit=bool(data.get("edit", False)),
        keep_buttons=bool(data.get("keep_buttons", False)),
        report_link=data.get("report_link"),
    )


def encode_replies(replies: list[Reply]) -> list[dict[str, Any]]:
    return [encode_reply(r) for r in replies]


# -- sending ------------------------------------------------------------------------------


def backoff(attempt: int) -> float:
    """Seconds before attempt ``attempt + 1`` (0.5 s doubling, at most 30 s)."""
    return min(FIRST_DELAY * 2 ** max(attempt, 0), MAX_DELAY)


class ProgressRecorder:
    """Records what was sent, many entries to a transaction (a group commit).

    Every entry sent is one write; under load they arrive faster than the store commits
    them one by one. Records that come while a write is in flight wait for the next,
    which takes them all, so a busy bot writes a few transactions a second for its sends,
    not one per reply. Each caller still waits until its own record is committed."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._waiting: list[tuple[OutboxEntry, Progress, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, entry: OutboxEntry, progress: Progress) -> None:
        """Return once ``progress`` is stored; raise what the store raised."""
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((entry, progress, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write(), name="outbox-progress")
        await asyncio.shield(done)  # a cancelled sender does not cancel the others' write

    async def _write(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    await self.store.outbox_progress([(e, p) for e, p, _ in batch])
                except Exception as exc:
                    for *_, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                else:
                    for *_, done in batch:
                        if not done.done():
                            done.set_result(None)
        finally:
            self._writer = None


class Delivery:
    """Sends outbox entries through their channels' :class:`OutputChannel`."""

    def __init__(
        self,
        store: Store,
        outputs: Mapping[str, OutputChannel],
        *,
        attempts: int = SEND_ATTEMPTS,
        first_delay: float = FIRST_DELAY,
        prepare: Prepare | None = None,
    ) -> None:
        self.store = store
        self.outputs = outputs
        # Turns a stored marker into what is sent (a coach's report drawn from the
        # store); None from it: nothing to send any more (the client stopped sharing).
        self.prepare = prepare
        self.attempts = attempts
        self.first_delay = first_delay
        self._locks = UserLocks()  # one user's entries go out one after another
        self._progress = ProgressRecorder(store)

    async def send(self, entry: OutboxEntry) -> bool:
        """Send what is unsent of ``entry`` and record it; True when all of it went out."""
        output = self.outputs.get(entry.channel)
        if output is None:
            log.warning("outbox %s: no output channel %r here", entry.id, entry.channel)
            return False
        replies = [decode_reply(r) for r in entry.replies]
        async with self._locks.hold(entry.key):
            sent, owners = entry.sent_count, []
            failures = 0
            while sent < len(replies):
                try:
                    reply: Reply | None = replies[sent]
                    if replies[sent].report_link is not None and self.prepare:
                        reply = await self.prepare(replies[sent])
                    if reply is None:
                        sent += 1
                        continue
                    ids = await output.send(entry.address, [reply], pressed=entry.pressed)
                except Exception as exc:
                    delay = output.retry_delay(exc)
                    if delay is None:
                        failed = f"{type(exc).__name__}: {exc}"
                        log.warning("outbox %s: refused for good (%s)", entry.id, failed)
                        await self._record(entry, Progress(sent, tuple(owners), failed=failed))
                        return False
                    failures += 1
                    if failures >= self.attempts:
                        later = datetime.now(UTC) + timedelta(
                            seconds=max(delay, backoff(entry.attempts + 1))
                        )
                        log.warning(
                            "outbox %s: %s; retrying from the sweeper", entry.id, type(exc).__name__
                        )
                        await self._record(entry, Progress(sent, tuple(owners), retry_at=later))
                        return False
                    pause = max(delay, self.first_delay * 2 ** (failures - 1))
                    what = type(exc).__name__
                    log.info("outbox %s: %s; retrying in %.1f s", entry.id, what, pause)
                    await asyncio.sleep(min(pause, MAX_DELAY))
                    continue
                owners.extend((entry.address, message_id) for message_id in ids)
                sent += 1
                failures = 0
            await self._record(entry, Progress(sent, tuple(owners)))
            return True

    async def _record(self, entry: OutboxEntry, progress: Progress) -> None:
        try:
            await self._progress.record(entry, progress)
        except Exception:
            # Sent but not recorded: the lease runs out and it is sent again (a duplicate,
            # never a loss).
            log.warning("outbox %s: progress not recorded", entry.id, exc_info=True)

    async def sweep(self, worker: str, *, created_before: datetime | None = None) -> int:
        """Send entries due a retry or left by a dead sender; returns how many went out."""
        entries = await self.store.outbox_claim(
            worker, datetime.now(UTC), created_before=created_before
        )
        results = await asyncio.gather(*(self.send(e) for e in entries))
        return sum(results)

    async def run(self, worker: str, started_at: datetime, every: float = SWEEP_EVERY) -> None:
        """Forever (until cancelled): first what was left unsent before this process
        started, then, every ``every`` seconds, retries and orphans."""
        first = True
        while True:
            try:
                await self.sweep(worker, created_before=started_at if first else None)
                first = False
            except Exception:
                log.warning("outbox sweep failed; will retry", exc_info=True)
            await asyncio.sleep(every)
