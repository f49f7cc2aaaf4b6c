"""Conversation state: everything the engine needs between two messages, serialisable."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ConversationState(BaseModel):
    """One user's conversation; stores persist it as JSON between steps."""

    model_config = ConfigDict(extra="forbid")

    user_id: str
    mode: Literal["idle"] = "idle"
    last_question: str | None = None
    turns: int = Field(default=0, ge=0)

    @classmethod
    def new(cls, user_id: str) -> ConversationState:
        return cls(user_id=user_id)
