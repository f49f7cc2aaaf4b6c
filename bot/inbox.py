"""The inbox: every update is stored before it is acknowledged, then processed from there.

A channel stores what it receives (:meth:`Dispatcher.accept`) before it answers the
webhook's 200 or moves the polling offset past it, so an update acknowledged to the
platform survives any crash. Processing then goes user by user: in this process one
worker per user takes its updates in order; across replicas, a step that finds earlier
updates of its user still unprocessed in the inbox applies them first
(:class:`~bot.storage.base.Behind`, :meth:`Dispatcher.catch_up`), so one user's updates
apply in update order however they were spread over replicas. Each is applied once: the
step claims its update id in the same transaction as the new state (``processed_updates``,
which is also what marks an inbox row processed); updates no step claims (inline
queries, refused presses, failures already answered with an apology) are settled here.

After a crash, what was stored and not processed is found at the next start (every row
received before it) or by a sweep on any replica (rows left waiting longer than
:data:`GRACE`) and processed then. A row that was being processed when its process died
three times is given up (logged), so one poisonous update cannot block its user forever.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.ratelimit import UserRateLimit
from bot.storage.base import InboxRow, Store, UserKey

log = logging.getLogger(__name__)

GRACE = timedelta(seconds=10)  # an unprocessed row older than this is taken by any replica
SWEEP_EVERY = 5.0  # seconds between sweeps for such rows
MAX_RECOVERIES = 3  # a row recovered this many times without being processed is given up
WAITING_LIMIT = 200  # rows one recovery takes (the store's default)
Processor = Callable[[InboxRow], Awaitable[None]]
Notify = Callable[[InboxRow], Awaitable[None]]


@dataclass
class Processing:
    """What became of the update being processed; the channel's handlers fill it in."""

    row: InboxRow
    claimed: bool = False  # a conversation step claimed it (and so marked it processed)
    failed: bool = False  # a handler failed (the user was told to try again)


# The update the current task is processing (None outside the dispatcher: a channel whose
# updates do not come from the inbox, as in tests that drive the handlers directly).
CURRENT: ContextVar[Processing | None] = ContextVar("calfcoach_processing", default=None)


def mark_claimed() -> None:
    """Called by a handler once a conversation step has claimed the current update."""
    processing = CURRENT.get()
    if processing is not None:
        processing.claimed = True


def mark_failed() -> None:
    """Called by the error handler: the update failed and the user heard so."""
    processing = CURRENT.get()
    if processing is not None:
        processing.failed = True


class Dispatcher:
    """Stores received updates and processes them per user, in order, exactly once."""

    def __init__(
        self,
        store: Store,
        process: Processor,
        *,
        limit: UserRateLimit | None = None,
        on_limited: Notify | None = None,
    ) -> None:
        self.store = store
        self.process = process
        self.limit = limit if limit is not None else UserRateLimit(0, 1.0)
        self.on_limited = on_limited
        self._queues: dict[UserKey, deque[InboxRow]] = {}
        self._workers: dict[UserKey, asyncio.Task[None]] = {}

    async def accept(self, rows: Sequence[InboxRow]) -> None:
        """Store ``rows`` (raises if the store cannot), then schedule them. Return only
        after storing: the caller acknowledges the updates to the platform then."""
        await self.store.inbox_add(list(rows))
        for row in rows:
            self.schedule(row)

    def schedule(self, row: InboxRow) -> None:
        """Queue ``row`` behind its user's earlier ones in this process."""
        self._queues.setdefault(row.key, deque()).append(row)
        if row.key not in self._workers:
            self._workers[row.key] = asyncio.create_task(
                self._work(row.key), name=f"inbox-{row.channel}"
            )

    async def _work(self, key: UserKey) -> None:
        queue = self._queues[key]
        try:
            while queue:
                row = queue.popleft()
                await self.run(row, limited=True)
        finally:
            del self._queues[key]
            del self._workers[key]

    async def run(self, row: InboxRow, *, limited: bool = False) -> None:
        """Process one stored update and settle it unless a conversation step claimed it.
        ``limited``: subject to the user's rate limit (not when catching up)."""
        # Updates with no chat (inline queries: one per keystroke) are not counted.
        countable = limited and row.user_id and row.address is not None
        if countable and not await self.limit.allow(row.key):
            await self._refuse(row)
            return
        processing = Processing(row)
        token = CURRENT.set(processing)
        try:
            await self.process(row)
        except Exception:
            log.exception("update %s could not be processed", row.update_id)
            processing.failed = True
        finally:
            CURRENT.reset(token)
        if processing.claimed and not processing.failed:
            return
        await self._settle(row)

    async def _refuse(self, row: InboxRow) -> None:
        log.info("update %s refused: its user is over the rate limit", row.update_id)
        await self._settle(row)
        if self.on_limited is not None and self.limit.should_tell(row.key):
            try:
                await self.on_limited(row)
            except Exception:
                log.warning("rate-limit notice not sent", exc_info=True)

    async def _settle(self, row: InboxRow) -> None:
        try:
            await self.store.settle([row])
        except Exception:
            log.warning("update %s not marked processed", row.update_id, exc_info=True)

    async def catch_up(self, key: UserKey, before: int) -> None:
        """Apply ``key``'s stored updates below ``before`` first (a step found them
        unprocessed: another replica holds them, or they are stranded)."""
        for row in await self.store.inbox_pending(key, before):
            await self.run(row)

    async def recover(
        self, received_before: datetime, received_after: datetime | None = None
    ) -> tuple[int, bool]:
        """Schedule rows received before ``received_before`` (and after
        ``received_after``, if given) and still unprocessed. Returns how many were
        scheduled, and whether that was every such row (fewer than the limit came)."""
        rows = await self.store.inbox_waiting(
            received_before, WAITING_LIMIT, received_after=received_after
        )
        complete = len(rows) < WAITING_LIMIT
        # A user with a worker here gets to its rows (and catches up older ones) itself.
        rows = [row for row in rows if row.key not in self._workers]
        for row in rows:
            if row.attempts >= MAX_RECOVERIES:
                log.error("update %s given up after %d recoveries", row.update_id, row.attempts)
                await self._settle(row)
                continue
            await self.store.inbox_failed(row)  # counted first: a crash while processing counts
            self.schedule(row)
        return len(rows), complete

    async def run_recovery(self, started_at: datetime, every: float = SWEEP_EVERY) -> None:
        """Forever (until cancelled): first every row received before this process
        started, then, every ``every`` seconds, rows left waiting longer than GRACE."""
        first = True
        # Rows received before this were all found processed (or scheduled here) by an
        # earlier sweep: the next one looks only after it, less an overlap for rows
        # inserted late or stamped by a replica whose clock lags. Without it every sweep
        # walked the whole retained inbox: 100 ms of the SQLite thread every 5 s with
        # 200,000 rows (5 h at 10 updates/s of the 72 h kept).
        checked: datetime | None = None
        while True:
            try:
                before = started_at if first else datetime.now(UTC) - GRACE
                recovered, complete = await self.recover(before, None if first else checked)
                if recovered:
                    log.warning("recovering %d stored update(s) not yet processed", recovered)
                if complete:
                    checked = before - GRACE
                first = False
            except Exception:
                log.warning("inbox recovery failed; will retry", exc_info=True)
            await asyncio.sleep(every)

    async def drain(self, timeout: float) -> None:
        """Wait (at most ``timeout`` s) for the updates in progress here: a clean stop."""
        workers = list(self._workers.values())
        if workers:
            await asyncio.wait(workers, timeout=timeout)
