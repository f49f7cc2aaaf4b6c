"""Where conversations and results live: one interface, several backends.

:class:`~bot.storage.base.Store` is the only door to persistence (a repository with a
unit of work per update, as in cosmicpython); :func:`~bot.storage.factory.create_store`
picks the backend from settings.
"""

from bot.storage.base import Conflict, Store, StoredResult, UserKey, UserSession

__all__ = ["Conflict", "Store", "StoredResult", "UserKey", "UserSession"]
