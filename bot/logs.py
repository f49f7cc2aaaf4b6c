"""Logging that never holds the bot token, the webhook secret or what users wrote.

At ``LOG_LEVEL=DEBUG`` python-telegram-bot logs every Bot API call's parameters and
return value (the text of every message received through ``getUpdates`` and sent with
``sendMessage``) and every update it processes; httpx and aiohttp errors carry request
URLs, and a Bot API URL contains the token. Two guards, installed on the root handlers
in one place (:func:`install`, called by ``bot/cli.py``):

* :class:`ThirdPartyArgs` (a filter) replaces the structured arguments of other
  libraries' records (dicts, lists, bytes, Telegram objects, long or multi-word strings)
  by their type, so request parameters and updates are never formatted at all;
* :class:`RedactingFormatter` removes the configured secrets, and anything shaped like a
  bot token, from the final text, tracebacks included.

Our own modules log ids and counts, never message text.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[redacted]"
# A Bot API token: the bot id, a colon, and 30+ URL-safe characters.
TOKEN_SHAPE = re.compile(r"\d{5,16}(?::|%3A)[A-Za-z0-9_-]{30,}")
OWN_LOGGERS = frozenset({"bot", "index", "knowledge", "calfcoach", "__main__"})
SECRET_ENV = ("TELEGRAM_BOT_TOKEN", "WEBHOOK_SECRET")
MIN_SECRET = 4  # shorter "secrets" would redact ordinary words


def secrets_from(values: Iterable[str | None]) -> list[str]:
    """The strings to redact: each secret, and a token's part after its colon (which is
    what identifies it when a URL quotes it percent-encoded)."""
    found: set[str] = set()
    for value in values:
        if not value or len(value) < MIN_SECRET:
            continue
        found.add(value)
        if ":" in value:
            found.add(value.split(":", 1)[1])
    return sorted(found, key=len, reverse=True)


def environment_secrets() -> list[str]:
    """Secrets as the environment gives them (usable before settings validate)."""
    return secrets_from(os.environ.get(name) for name in SECRET_ENV)


class Redactor:
    """Removes known secrets and token-shaped strings from text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = list(secrets)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return TOKEN_SHAPE.sub(REDACTED, text)


REDACT = Redactor(environment_secrets())


def _summary(value: Any) -> Any:
    """A log argument from another library, reduced to what cannot hold user text."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if (
        isinstance(value, str)
        and len(value) <= 80
        and not any(c.isspace() or c in "{[\"'" for c in value)
    ):
        return value  # endpoint names, hosts, ids
    update_id = getattr(value, "update_id", None)
    if isinstance(update_id, int):
        return f"<{type(value).__name__} {update_id}>"
    if isinstance(value, str | bytes | bytearray):
        return f"<{type(value).__name__} of {len(value)}>"
    return f"<{type(value).__name__}>"


class ThirdPartyArgs(logging.Filter):
    """Summarise other libraries' log arguments (see the module docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".", 1)[0] in OWN_LOGGERS:
            return True
        if not isinstance(record.msg, str):
            record.msg = _summary(record.msg)
        if isinstance(record.args, Mapping):
            record.args = {key: _summary(value) for key, value in record.args.items()}
        elif record.args:
            record.args = tuple(_summary(value) for value in record.args)
        return True


class RedactingFormatter(logging.Formatter):
    """A formatter whose output (message, traceback, stack) has secrets removed."""

    def __init__(self, fmt: str, redactor: Redactor) -> None:
        super().__init__(fmt)
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor(super().format(record))


FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def install(level: str, secrets: Iterable[str] = ()) -> None:
    """Configure the root logger at ``level`` with both guards on every handler."""
    REDACT.secrets = secrets_from([*environment_secrets(), *secrets])
    logging.basicConfig(level=level, format=FORMAT)
    root = logging.getLogger()
    root.setLevel(level)
    for handler in root.handlers:
        handler.setFormatter(RedactingFormatter(FORMAT, REDACT))
        if not any(isinstance(f, ThirdPartyArgs) for f in handler.filters):
            handler.addFilter(ThirdPartyArgs())
