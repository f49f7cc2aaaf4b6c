"""Re-test reminders: claimed from the store by one replica each, sent through the
channel the user came from."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Mapping
from datetime import UTC, datetime

from bot.channels import OutputChannel
from bot.engine.messages import Reply
from bot.storage.base import Store

log = logging.getLogger(__name__)


async def send_due_reminders(
    store: Store, outputs: Mapping[str, OutputChannel], worker: str
) -> int:
    """Claim due reminders (each goes to exactly one replica) and send them; a failed
    send is released so another poll retries it. Returns how many were sent."""
    sent = 0
    for reminder in await store.claim_due_reminders(datetime.now(UTC), worker):
        output = outputs.get(reminder.channel)
        if output is None:
            log.warning("reminder %s: no output channel %r here", reminder.id, reminder.channel)
            await store.release(reminder.id)
            continue
        try:
            await output.send(reminder.address, [Reply(reminder.text, kind="reminder")])
        except Exception:
            log.warning("reminder %s not sent; releasing it", reminder.id, exc_info=True)
            await store.release(reminder.id)
            continue
        await store.mark_sent(reminder.id)
        sent += 1
    return sent


async def reminder_loop(store: Store, outputs: Mapping[str, OutputChannel], every: float) -> None:
    """Poll the store for due reminders; restarts pick up where the store says."""
    worker = f"{socket.gethostname()}-{os.getpid()}"
    while True:
        try:
            await send_due_reminders(store, outputs, worker)
        except Exception:
            log.exception("reminder loop failed; retrying")
        await asyncio.sleep(every)
