"""Pick the store from settings: SQLite in DATA_DIR by default, or DATABASE_URL."""

from __future__ import annotations

from bot.settings import Settings
from bot.storage.base import Store
from bot.storage.memory import MemoryStore


def database_url(settings: Settings) -> str:
    if settings.database_url:
        url = settings.database_url
        # Accept the URLs operators paste; use the async drivers.
        for plain, driver in (
            ("postgres://", "postgresql+asyncpg://"),
            ("postgresql://", "postgresql+asyncpg://"),
        ):
            if url.startswith(plain):
                return driver + url[len(plain) :]
        return url
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{settings.data_dir / 'calfcoach.db'}"


def create_store(settings: Settings) -> Store:
    """The configured backend; call ``await store.migrate()`` in the loop that will use it.

    ``DATABASE_URL=memory`` keeps nothing (tests, throwaway runs).
    """
    if settings.database_url == "memory":
        return MemoryStore()
    from bot.storage.sql import SqlStore

    return SqlStore(database_url(settings), timeout=settings.database_timeout_seconds)
