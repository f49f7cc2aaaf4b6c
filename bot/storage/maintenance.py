"""Housekeeping a long-running bot needs so its tables do not grow forever."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from bot.storage.base import Store

log = logging.getLogger(__name__)

PRUNE_EVERY = 3600.0  # seconds between prunes (at most; a short retention prunes sooner)


async def prune_loop(store: Store, retention: timedelta, every: float | None = None) -> None:
    """Forever (until cancelled): forget processed update ids older than ``retention``.
    They exist only to recognise Telegram redelivering an update, which it gives up on
    within a day, so keeping them longer only grows the table."""
    pause = every if every is not None else min(PRUNE_EVERY, retention.total_seconds() / 4)
    while True:
        try:
            pruned = await store.prune(datetime.now(UTC) - retention)
            if pruned:
                log.info("pruned %d processed update ids older than %s", pruned, retention)
        except Exception:
            log.warning("pruning processed updates failed; will retry", exc_info=True)
        await asyncio.sleep(pause)
