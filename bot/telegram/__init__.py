"""The Telegram adapter (python-telegram-bot 22): translate updates, render replies.

It knows Telegram and nothing of the rules: handlers build an ``Incoming``, await the
conversation service and render each ``Reply``.
"""
