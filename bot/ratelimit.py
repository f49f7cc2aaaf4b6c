"""A per-user rate limit, so one user's flood does not slow anyone else.

Each user gets a leaky bucket of ``burst`` messages that drains at ``burst / period`` a
second: aiolimiter's :class:`~aiolimiter.AsyncLimiter`, which python-telegram-bot's
``AIORateLimiter`` already brings in (well kept, no new dependency), used without
waiting: a message that finds its user's bucket full is refused, not delayed, since a
delayed flood still occupies the user's queue and the global Bot API rate. The flooder
is told once per ``period`` (not once per message: 300 apologies would themselves be a
flood through Telegram's 30 messages a second). Buckets that have drained are dropped
(a drained bucket is the same as a new one), so memory follows active users only. The
limit is per replica: good enough against a flood, which hits whichever replica gets it.
"""

from __future__ import annotations

import time
from collections.abc import Hashable

from aiolimiter import AsyncLimiter

SWEEP_EVERY = 1000  # checks between drops of drained buckets


class UserRateLimit:
    """``await limit.allow(key)``: False when ``key`` exceeded ``burst`` per ``period`` s."""

    def __init__(self, burst: int, period: float) -> None:
        self.burst = burst
        self.period = period
        self._buckets: dict[Hashable, AsyncLimiter] = {}
        self._told: dict[Hashable, float] = {}
        self._checks = 0

    def __len__(self) -> int:
        return len(self._buckets)

    @property
    def enabled(self) -> bool:
        return self.burst > 0

    async def allow(self, key: Hashable) -> bool:
        """Take one message from ``key``'s bucket; False (nothing taken) when it is full."""
        if not self.enabled:
            return True
        self._checks += 1
        if self._checks % SWEEP_EVERY == 0:
            self._drop_drained()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = AsyncLimiter(self.burst, self.period)
        if not bucket.has_capacity():
            return False
        await bucket.acquire()  # has capacity: returns at once
        return True

    def should_tell(self, key: Hashable) -> bool:
        """Whether to tell ``key`` it was limited (at most once per ``period``)."""
        now = time.monotonic()
        if now - self._told.get(key, -self.period) < self.period:
            return False
        self._told[key] = now
        return True

    def _drop_drained(self) -> None:
        drained = [k for k, b in self._buckets.items() if b.has_capacity(self.burst)]
        for key in drained:
            del self._buckets[key]
        now = time.monotonic()
        self._told = {k: t for k, t in self._told.items() if now - t < self.period}
