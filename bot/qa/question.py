"""Validate a question at the edge, with messages that say what is accepted."""

from __future__ import annotations

import unicodedata

MAX_QUESTION_CHARS = 1000


class InvalidQuestion(ValueError):
    """The input cannot be a question; the message is safe to show a user."""


def validate_question(text: str | bytes) -> str:
    """Return the cleaned question or raise :class:`InvalidQuestion` saying why not."""
    if isinstance(text, bytes):
        if b"\x00" in text:
            raise InvalidQuestion("the input looks binary (it contains NUL bytes); send text")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidQuestion("the input is not UTF-8 text; send plain text") from exc
    if "\x00" in text or "\ufffd" in text:
        raise InvalidQuestion("the input looks binary; send a question as plain text")
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t")
    if controls:
        raise InvalidQuestion("the input contains control characters; send plain text")
    cleaned = " ".join(text.split())
    if not cleaned:
        raise InvalidQuestion("the question is empty; ask something about calves or ankles")
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise InvalidQuestion(
            f"the question is {len(cleaned)} characters long; keep it under "
            f"{MAX_QUESTION_CHARS} characters"
        )
    if not any(ch.isalnum() for ch in cleaned):
        raise InvalidQuestion("the question has no words in it; ask something in words")
    return cleaned
