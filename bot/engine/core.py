"""The dialog engine: commands, small talk and questions answered from the guide."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.engine.messages import Incoming, Reply
from bot.engine.state import ConversationState
from bot.qa.models import Answer
from bot.qa.question import InvalidQuestion
from bot.qa.service import QAService

HELP_TEXT = (
    "I answer questions about calves and ankles from one expert guide on plantar flexion: "
    "the calf muscles, their imbalances, self-tests, exercises and programming.\n\n"
    "Just type a question, for example:\n"
    "• Why are my calves weak?\n"
    "• How do I know if one calf is weaker?\n"
    "• What rep range is best for the soleus?\n\n"
    "Commands: /help shows this message."
)
GREETING = "Hi! I'm CalfCoach. " + HELP_TEXT

_SMALL_TALK = {
    "greeting": re.compile(r"^(?:hi|hello|hey|hiya|yo|good (?:morning|afternoon|evening))\W*$"),
    "thanks": re.compile(r"^(?:thanks?(?: you)?|thx|ty|cheers|great,? thanks?)\W*$"),
}


@dataclass(frozen=True)
class Step:
    """The result of one engine step: what to send and the state to keep."""

    replies: list[Reply]
    state: ConversationState


def answer_reply(answer: Answer) -> Reply:
    """Turn a QA answer into a reply; red flags and declines carry no section."""
    return Reply(text=answer.body, section=answer.section_label(), kind=answer.kind)


class Engine:
    """Stateless itself: every call takes the state and returns the next one."""

    def __init__(self, qa: QAService) -> None:
        self.qa = qa

    def handle(self, state: ConversationState, incoming: Incoming) -> Step:
        text = incoming.text.strip()
        state = state.model_copy(update={"turns": state.turns + 1})
        if text.startswith("/"):
            return self._command(state, text)
        lowered = text.lower()
        if _SMALL_TALK["greeting"].match(lowered):
            return Step([Reply(GREETING)], state)
        if _SMALL_TALK["thanks"].match(lowered):
            return Step(
                [Reply("You're welcome! Ask me anything else about calves or ankles.")], state
            )
        return self._question(state, text)

    def _command(self, state: ConversationState, text: str) -> Step:
        command, _, _argument = text.partition(" ")
        command = command.split("@", 1)[0].lower()
        if command == "/start":
            return Step([Reply(GREETING)], state)
        if command == "/help":
            return Step([Reply(HELP_TEXT)], state)
        return Step(
            [Reply(f"I don't know the command {command}. Type /help to see what I can do.")],
            state,
        )

    def _question(self, state: ConversationState, text: str) -> Step:
        try:
            answer = self.qa.answer(text)
        except InvalidQuestion as exc:
            return Step([Reply(f"Sorry, I can't use that: {exc}.")], state)
        state = state.model_copy(update={"last_question": answer.question})
        return Step([answer_reply(answer)], state)
