"""Words for operators (start-up errors, refusals on the command line), kept as data in
one place so they can be reviewed and reworded together rather than hunted through code.

None of them may quote a secret or a user's message: they end up in logs and terminals.
"""

from __future__ import annotations

NOTICES: dict[str, str] = {
    "token_rejected": (
        "Telegram rejected TELEGRAM_BOT_TOKEN (check it with @BotFather; it is not repeated "
        "here so that it stays out of logs)"
    ),
    "bot_api_unreachable": (
        "the Bot API did not answer for {seconds} s at start-up; check the network or "
        "TELEGRAM_API_URL (BOT_API_RETRY_SECONDS sets how long to keep trying)"
    ),
    "database_read_only": (
        "the database {path} is read-only for this user; the bot could not save any "
        "conversation. Make the file and its directory writable (SQLite also writes "
        "{path}-wal and {path}-shm beside it) or set DATABASE_URL"
    ),
    "database_unwritable": (
        "cannot write the database {path}: {reason}. Make the file and its directory "
        "writable or set DATABASE_URL"
    ),
    "input_too_large": (
        "{source} is larger than {limit} bytes; give at most {limit} bytes ({what})"
    ),
    "batch_line_too_deep": "line {line}: JSON nests deeper than {depth} levels",
}


def notice(key: str, **values: object) -> str:
    """The notice ``key`` with its ``{placeholders}`` filled in."""
    return NOTICES[key].format(**values)
