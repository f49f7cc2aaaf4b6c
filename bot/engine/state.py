"""Conversation state: everything the engine needs between two messages, serialisable."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.assessment.models import AssessmentInput, AssessmentResult
from bot.engine.referral import ReferralState


class FormState(BaseModel):
    """A self-test in progress: the answers so far and the order they were given in."""

    model_config = ConfigDict(extra="forbid")

    answers: dict[str, Any] = Field(default_factory=dict)
    order: list[list[str]] = Field(default_factory=list)  # slots filled per step, for /back
    history_draft: list[str] = Field(default_factory=list)  # multi-select being ticked


RETIRED_FIELDS = frozenset({"turns", "last_question"})


class ConversationState(BaseModel):
    """One user's conversation; stores persist it as JSON between steps."""

    model_config = ConfigDict(extra="forbid")

    user_id: str
    assessment: FormState | None = None
    last_result: AssessmentResult | None = None
    last_input: AssessmentInput | None = None
    tests_completed: int = Field(default=0, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _drop_retired_fields(cls, data: Any) -> Any:
        """States saved by older versions carry fields nothing reads any more."""
        if isinstance(data, dict) and (RETIRED_FIELDS & data.keys()):
            data = {k: v for k, v in data.items() if k not in RETIRED_FIELDS}
        return data
    referral: ReferralState | None = None  # a referral in force, and the last message

    @classmethod
    def new(cls, user_id: str) -> ConversationState:
        return cls(user_id=user_id)
