"""Per-user asyncio locks that are freed when nobody holds or waits for them.

A ``defaultdict(asyncio.Lock)`` keyed by user grows by one lock per user ever seen and
never shrinks: a bot with a million users holds a million locks. Here each lock is
counted while held or awaited and dropped when the count returns to zero.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class UserLocks:
    """``async with locks.hold(user_id):`` serialises one user's steps in this process."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    def __len__(self) -> int:
        """Locks currently held or awaited (idle ones are gone)."""
        return len(self._locks)

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
