"""Pick the store from settings."""

from __future__ import annotations

from bot.settings import Settings
from bot.storage.base import Store
from bot.storage.memory import MemoryStore


def create_store(settings: Settings) -> Store:
    """The configured backend (in memory until the SQL store lands)."""
    return MemoryStore()
