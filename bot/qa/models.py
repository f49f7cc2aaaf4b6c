"""The answer contract shared by the CLI (``ask --json``), the chat adapters and eval."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from bot.qa.sections import section_label

AnswerKind = Literal["answer", "card", "faq", "out_of_scope", "red_flag"]


class Source(BaseModel):
    section: str
    score: float


class Passage(BaseModel):
    section: str
    text: str
    score: float


class Answer(BaseModel):
    """What the bot says to a question, with where it came from."""

    question: str
    in_scope: bool
    red_flag: bool
    answer: str = Field(description="The text a user sees, including the section line.")
    sources: list[Source] = Field(default_factory=list)
    passages: list[Passage] = Field(default_factory=list)
    kind: AnswerKind = Field(default="answer", exclude=True)
    body: str = Field(default="", exclude=True, description="The answer without section line.")
    red_flag_ids: tuple[str, ...] = Field(default=(), exclude=True)
    urgency: Literal["emergency", "same_day", "soon"] | None = Field(default=None, exclude=True)
    faq_id: str | None = Field(default=None, exclude=True)
    card_id: str | None = Field(default=None, exclude=True)
    related: tuple[tuple[str, str], ...] = Field(
        default=(), exclude=True, description="(question, payload) of nearby passages to offer."
    )

    def section_label(self) -> str | None:
        """Where the answer came from, short enough for a chat line."""
        return section_label([s.section for s in self.sources]) if self.sources else None

    def contract(self) -> dict[str, object]:
        """The documented JSON object of ``calfcoach ask --json``."""
        contract = self.model_dump(
            include={"question", "in_scope", "red_flag", "answer", "sources", "passages"}
        )
        contract["triage"] = (
            {"flags": list(self.red_flag_ids), "urgency": self.urgency} if self.red_flag else None
        )
        return contract
