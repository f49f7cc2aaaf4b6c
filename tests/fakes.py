"""A small stand-in for the QA service, so engine logic is tested in milliseconds.

It answers every question with one fixed passage and triages by the rules alone (no
encoder, no index), over the real knowledge data. The real service is tested on its own
(tests/test_qa.py) and through the whole stack (tests/test_telegram.py); tests of the
engine's dialog logic (commands, buttons, the form, small talk) need neither.
"""

from __future__ import annotations

from bot.qa.followup import Topic, next_topic
from bot.qa.models import Answer, Source
from bot.qa.question import validate_question
from bot.qa.sections import with_section_line
from bot.safety import Triage, rule_flags
from knowledge.facts import load_facts
from knowledge.models import Knowledge

SECTION = "Soleus > Training implications"


class FakeQA:
    """Quacks like :class:`bot.qa.service.QAService` for the engine."""

    def __init__(self, knowledge: Knowledge | None = None) -> None:
        self.knowledge = knowledge or load_facts()
        self.asked: list[str] = []

    def answer(self, question: str) -> Answer:
        cleaned = validate_question(question)
        self.asked.append(cleaned)
        flags = self.triage(cleaned)
        if flags.is_red_flag:
            return self.referral_answer(cleaned, flags)
        body = f"Guide passage for: {cleaned}"
        return Answer(
            question=cleaned,
            in_scope=True,
            red_flag=False,
            answer=with_section_line(body, [SECTION]),
            body=body,
            sources=[Source(section=SECTION, score=1.0)],
        )

    def answer_in_context(self, question: str, topic: Topic | None) -> tuple[Answer, Topic]:
        answer = self.answer(question)
        return answer, next_topic(answer.question, (SECTION,))

    def triage(self, text: str) -> Triage:
        return Triage.of(rule_flags(text), self.knowledge.red_flags)

    def triage_across(self, previous: str, question: str) -> Triage:
        return self.triage(f"{previous}\n{question}")

    def referral_answer(self, question: str, flags: Triage) -> Answer:
        text = flags.referral_text(self.knowledge.triage_text)
        return Answer(
            question=question,
            in_scope=True,
            red_flag=True,
            answer=text,
            body=text,
            kind="red_flag",
            red_flag_ids=flags.ids,
            urgency=flags.urgency,
        )

    def faq_answer(self, faq_id: str, **_: object) -> Answer:
        entry = self.knowledge.faq_entry(faq_id)
        if entry is None:
            raise KeyError(faq_id)
        return Answer(
            question=entry.question,
            in_scope=True,
            red_flag=False,
            answer=entry.answer,
            body=entry.answer,
            sources=[Source(section=s, score=1.0) for s in entry.sections],
            kind="faq",
            faq_id=entry.id,
        )

    def related_question(self, payload: object) -> str | None:
        return None
