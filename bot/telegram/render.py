"""Replies as Telegram messages: HTML parts under 4,096 characters and inline keyboards."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.engine.messages import Button

CALLBACK_DATA_MAX_BYTES = 64


def keyboard(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    """Inline keyboard for a reply's buttons; callback data is checked against Telegram's limit."""
    if not rows:
        return None
    markup = []
    for row in rows:
        buttons = []
        for button in row:
            if button.payload is not None:
                if len(button.payload.encode()) > CALLBACK_DATA_MAX_BYTES:
                    raise ValueError(f"callback data over 64 bytes: {button.payload!r}")
                buttons.append(InlineKeyboardButton(button.label, callback_data=button.payload))
            elif button.url is not None:
                buttons.append(InlineKeyboardButton(button.label, url=button.url))
            elif button.share_query is not None:
                buttons.append(
                    InlineKeyboardButton(button.label, switch_inline_query=button.share_query)
                )
        markup.append(buttons)
    return InlineKeyboardMarkup(markup)
