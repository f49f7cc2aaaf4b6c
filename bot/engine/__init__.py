"""The transport-independent dialog engine: ``(state, incoming) -> (replies, state)``.

No Telegram, no database: adapters turn platform updates into :class:`Incoming`, render
each :class:`Reply`, and load/save :class:`ConversationState` around each step.
"""

from bot.engine.core import Engine, Step
from bot.engine.messages import Button, Incoming, Reply
from bot.engine.state import ConversationState

__all__ = ["Button", "ConversationState", "Engine", "Incoming", "Reply", "Step"]
