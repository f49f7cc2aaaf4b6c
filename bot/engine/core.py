"""The dialog engine: commands, questions from the guide and the guided self-test.

``Engine.handle(state, incoming)`` is a pure step: it never mutates ``state`` and knows
no transport or storage. Mid-test, anything that is not an answer is treated like a
Rasa form interruption: a question is answered from the guide and the step asked again;
a red flag ends the test with a referral.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from bot.assessment import AssessmentResult, assess
from bot.assessment.ids import check_ids
from bot.assessment.models import Program
from bot.assessment.outcome import referral_urgency
from bot.assessment.report import findings_text, program_text, reasons_text
from bot.engine.form import (
    HISTORY_BUTTON,
    PREFIX,
    FormStep,
    Invalid,
    Parsed,
    assessment_input,
    build_steps,
    history_ids,
    next_step,
)
from bot.engine.messages import Button, Incoming, Reply
from bot.engine.state import ConversationState, FormState
from bot.qa.models import Answer
from bot.qa.question import InvalidQuestion
from bot.qa.service import QAService
from bot.safety import Triage, triage

log = logging.getLogger(__name__)

HELP_TEXT = (
    "I answer questions about calves and ankles from one expert guide on plantar flexion: "
    "the calf muscles, their imbalances, self-tests, exercises and programming.\n\n"
    "Just type a question, for example:\n"
    "• Why are my calves weak?\n"
    "• How do I know if one calf is weaker?\n"
    "• What rep range is best for the soleus?\n\n"
    "Commands:\n"
    "/assess - a guided self-test (about 10 minutes): imbalances and a weekly program\n"
    "/faq - the questions coaches ask most\n"
    "/program - your last program\n"
    "/help - this message"
)
TEST_HELP = (
    "You're in the self-test. Answer the question, or use:\n"
    "/back - change the previous answer\n"
    "/restart - start the test again\n"
    "/cancel - stop the test (your answers are dropped)\n"
    "You can also ask a question at any time; I'll answer it and come back to the test."
)
GREETING = "Hi! I'm CalfCoach. " + HELP_TEXT
STOPPED = Reply("I've stopped the self-test: please get checked first.")
START_TEST_BUTTON = Button("Start the self-test", payload=f"{PREFIX}start")
WHY_PREFIX = "why:"  # "why:program": the reasons of the user's latest program
WHY_PAYLOAD = f"{WHY_PREFIX}program"
_DONE_WORDS = {"done", "finished", "that's it", "thats it", "that's all"}

_SMALL_TALK = {
    "greeting": re.compile(r"^(?:hi|hello|hey|hiya|yo|good (?:morning|afternoon|evening))\W*$"),
    "thanks": re.compile(r"^(?:thanks?(?: you)?|thx|ty|cheers|great,? thanks?)\W*$"),
}
_QUESTION = re.compile(
    r"\?\s*$|^(?:what|why|how|when|where|which|who|is|are|can|could|do|does|did|should|"
    r"would|will|tell|explain)\b"
)


@dataclass(frozen=True)
class Step:
    """The result of one engine step: what to send and the state to keep."""

    replies: list[Reply]
    state: ConversationState


def answer_reply(answer: Answer) -> Reply:
    """A QA answer as a reply, with related questions, the self-test and a share button.

    Red flags get no buttons: the only next step offered is seeing a clinician.
    """
    if answer.kind == "red_flag":
        return Reply(text=answer.body, kind=answer.kind)
    rows: list[tuple[Button, ...]] = [
        (Button(label[:60], payload=payload),) for label, payload in answer.related
    ]
    actions = [START_TEST_BUTTON]
    if answer.kind != "out_of_scope":
        share = answer.question if answer.faq_id is None else f"faq:{answer.faq_id}"
        actions.append(Button("Share", share_query=share[:256]))
    rows.append(tuple(actions))
    return Reply(
        text=answer.body, section=answer.section_label(), kind=answer.kind, buttons=tuple(rows)
    )


class Engine:
    """Stateless itself: every call takes the state and returns the next one."""

    def __init__(self, qa: QAService, *, charts: bool = True) -> None:
        self.qa = qa
        self.charts = charts
        check_ids(qa.knowledge)  # an id the code names but the data lacks stops start-up
        self.steps: tuple[FormStep, ...] = build_steps(qa.knowledge)
        self.history_ids = history_ids(qa.knowledge)

    # -- entry point -------------------------------------------------------------------

    def handle(self, state: ConversationState, incoming: Incoming) -> Step:
        state = state.model_copy(update={"turns": state.turns + 1}, deep=True)
        if incoming.payload:
            return self._payload(state, incoming.payload)
        text = incoming.text.strip()
        if text.startswith("/"):
            return self._command(state, text)
        if state.assessment is not None:
            return self._form_answer(state, text)
        lowered = text.lower()
        if lowered in _DONE_WORDS and state.last_result is not None:
            # A "done" after the last answer finished the test is not a question.
            words = self.qa.knowledge.assessment_text.form
            return Step([Reply(words.already_done)], state)
        if _SMALL_TALK["greeting"].match(lowered):
            return Step([Reply(GREETING, buttons=((START_TEST_BUTTON,),))], state)
        if _SMALL_TALK["thanks"].match(lowered):
            return Step(
                [Reply("You're welcome! Ask me anything else about calves or ankles.")], state
            )
        return self._question(state, text)

    # -- commands and buttons ------------------------------------------------------------

    def _command(self, state: ConversationState, text: str) -> Step:
        command, _, argument = text.partition(" ")
        command = command.split("@", 1)[0].lower()
        in_test = state.assessment is not None
        if command == "/start":
            if argument.strip() == "assess":
                return self._start_test(state)
            if argument.strip().startswith("faq_"):
                return self._faq(state, argument.strip().removeprefix("faq_"))
            if in_test:
                return self._with_prompt(
                    state, [Reply("Welcome back! Your self-test is still open.")]
                )
            return Step([Reply(GREETING, buttons=((START_TEST_BUTTON,),))], state)
        if command == "/help":
            if in_test:
                return self._with_prompt(state, [Reply(TEST_HELP)])
            return Step([Reply(HELP_TEXT)], state)
        if command == "/assess":
            if in_test:
                return self._with_prompt(state, [Reply("Picking up where you left off.")])
            return self._start_test(state)
        if command == "/restart":
            return self._start_test(state, restarted=True)
        if command == "/cancel":
            if not in_test:
                return Step(
                    [Reply("There's no self-test running. Type /assess to start one.")], state
                )
            state.assessment = None
            return Step(
                [
                    Reply(
                        "Self-test cancelled; your answers were dropped. "
                        "Type /assess to start again."
                    )
                ],
                state,
            )
        if command == "/back":
            return self._back(state)
        if command == "/faq":
            rows = tuple(
                (Button(entry.question[:60], payload=f"faq:{entry.id}"),)
                for entry in self.qa.knowledge.faq
            )
            return Step([Reply("Questions coaches ask most. Tap one:", buttons=rows)], state)
        if command == "/program":
            return Step([self._program_reply(state)], state)
        reply = Reply(f"I don't know the command {command}. Type /help to see what I can do.")
        return self._with_prompt(state, [reply]) if in_test else Step([reply], state)

    def _payload(self, state: ConversationState, payload: str) -> Step:
        if payload.startswith("faq:"):
            return self._faq(state, payload.removeprefix("faq:"))
        if payload.startswith("rq:"):
            question = self.qa.related_question(payload)
            if question is None:
                return Step([Reply("That button has expired; just type your question.")], state)
            if state.assessment is not None:
                return self._interruption(state, question)
            return self._question(state, question)
        if payload.startswith(WHY_PREFIX):
            return Step([self._reasons_reply(state)], state)
        if payload == f"{PREFIX}start":
            if state.assessment is not None:
                return self._with_prompt(state, [Reply("Picking up where you left off.")])
            return self._start_test(state)
        if not payload.startswith(PREFIX) or state.assessment is None:
            return Step(
                [Reply("That button has expired. Type /assess to start the self-test.")], state
            )
        name, _, value = payload[len(PREFIX) :].partition(":")
        step = next_step(self.steps, state.assessment.answers)
        if step is None or not step.name.startswith(name):
            return self._with_prompt(state, [Reply("That button belongs to another step.")])
        if name == HISTORY_BUTTON:
            return self._history_button(state, value)
        return self._form_answer(state, value)

    def _history_button(self, state: ConversationState, value: str) -> Step:
        form = state.assessment
        assert form is not None
        if value in self.history_ids:
            return self._tick_history(state, (value,), toggle=True)
        values = form.history_draft if value == "done" else []
        return self._fill(state, {"history": values})

    def _tick_history(
        self, state: ConversationState, chosen: tuple[str, ...], toggle: bool
    ) -> Step:
        """Tick history items (a tap toggles one, typed numbers add) and show the selection."""
        form = state.assessment
        assert form is not None
        draft = set(form.history_draft) ^ set(chosen) if toggle else set(form.history_draft)
        draft |= set() if toggle else set(chosen)
        form.history_draft = sorted(draft, key=self.history_ids.index)
        words = self.qa.knowledge.assessment_text.form
        labels = {h.id: h.label.lower() for h in self.qa.knowledge.history}
        chosen_text = ", ".join(labels[v] for v in form.history_draft) or words.history_nothing
        step = next_step(self.steps, form.answers)
        assert step is not None
        ticked = tuple(
            tuple(
                Button(f"✓ {b.label}", payload=b.payload)
                if b.payload and b.payload.rsplit(":", 1)[-1] in form.history_draft
                else b
                for b in row
            )
            for row in step.buttons
        )
        reply = Reply(
            words.history_selected.format(chosen=chosen_text), buttons=ticked, edit=toggle
        )
        return Step([reply], state)

    # -- the form --------------------------------------------------------------------------

    def _start_test(self, state: ConversationState, restarted: bool = False) -> Step:
        state.assessment = FormState()
        intro = (
            "Starting over."
            if restarted
            else "Let's test your calves. You'll do a few single-leg tests and tell me your "
            "numbers; I'll tell you what they show and build you a weekly program from the guide."
        )
        return self._with_prompt(state, [Reply(intro + "\n\n" + TEST_HELP)], show_how_to=True)

    def _prompt(self, state: ConversationState, show_how_to: bool = True) -> Reply:
        assert state.assessment is not None
        step = next_step(self.steps, state.assessment.answers)
        assert step is not None
        number = self.steps.index(step) + 1
        text = f"Step {number} of {len(self.steps)}. "
        if step.how_to and show_how_to:
            text += f"{step.how_to}\n\n"
        text += step.prompt
        return Reply(text, buttons=step.buttons, kind="prompt")

    def _with_prompt(
        self, state: ConversationState, replies: list[Reply], show_how_to: bool = True
    ) -> Step:
        return Step([*replies, self._prompt(state, show_how_to)], state)

    def _back(self, state: ConversationState) -> Step:
        form = state.assessment
        if form is None:
            return Step([Reply("There's no self-test running. Type /assess to start one.")], state)
        if not form.order:
            return self._with_prompt(state, [Reply("This is the first question already.")])
        for slot in form.order.pop():
            form.answers.pop(slot, None)
        form.history_draft = []
        return self._with_prompt(state, [Reply("OK, let's redo that one.")])

    def _form_answer(self, state: ConversationState, text: str) -> Step:
        form = state.assessment
        assert form is not None
        flags = triage(text, self.qa.knowledge.red_flags)
        if flags.is_red_flag:
            state.assessment = None
            return Step(
                [
                    Reply(flags.referral_text(), kind="red_flag"),
                    STOPPED,
                ],
                state,
            )
        step = next_step(self.steps, form.answers)
        assert step is not None
        try:
            parsed = step.parse(text)
        except Invalid as exc:
            # A question mid-test is answered, then the step is asked again; a line with
            # a number in it was meant as an answer, so it gets the re-ask instead.
            if _QUESTION.search(text.lower()) or (
                len(text.split()) >= 4 and not re.search(r"\d", text)
            ):
                return self._interruption(state, text)
            words = self.qa.knowledge.assessment_text.form
            return self._with_prompt(
                state,
                [Reply(words.reask.format(problem=exc), kind="reask")],
                show_how_to=False,
            )
        if parsed.tick and text.rstrip().endswith("?"):
            # "What is plantar fasciitis?" names an item but asks about it: answer it.
            return self._interruption(state, text)
        return self._apply(state, step, parsed)

    def _apply(self, state: ConversationState, step: FormStep, parsed: Parsed) -> Step:
        """Fill what an answer gave, tick history items, or finish the history step."""
        form = state.assessment
        assert form is not None
        if parsed.tick and not parsed.finish:
            return self._tick_history(state, parsed.tick, toggle=False)
        if parsed.finish:
            chosen = set(form.history_draft) | set(parsed.tick)
            return self._fill(state, {step.slot: sorted(chosen, key=self.history_ids.index)})
        notes = [parsed.note] if parsed.note else []
        if (
            len(parsed.values) == 2
            and step.slot in parsed.values
            and None not in (parsed.values.values())
        ):
            notes.append(self._both_sides_note(form.answers, step, parsed.values))
        return self._fill(state, parsed.values, notes)

    def _both_sides_note(
        self, answers: dict[str, Any], step: FormStep, values: dict[str, Any]
    ) -> str:
        """'Got both' when one answer gave both legs, naming a changed earlier answer."""
        words = self.qa.knowledge.assessment_text.form
        left_slot, right_slot = list(values)
        before = answers.get(left_slot)
        if before is not None and before != values[left_slot] and left_slot != step.slot:
            return words.left_changed.format(
                left=values[left_slot], before=before, right=values[right_slot]
            )
        return words.both_sides_taken.format(left=values[left_slot], right=values[right_slot])

    def _fill(
        self, state: ConversationState, values: dict[str, Any], notes: list[str] | None = None
    ) -> Step:
        form = state.assessment
        assert form is not None
        form.answers.update(values)
        # A slot answered again (both legs at the right-leg step) leaves its earlier step,
        # so /back undoes this answer whole and the one before it stays undoable.
        form.order = [[s for s in slots if s not in values] for slots in form.order]
        form.order = [slots for slots in form.order if slots]
        form.order.append(list(values))
        form.history_draft = []
        if values.get("red_flags"):
            state.assessment = None
            flags = Triage.of(tuple(values["red_flags"]), self.qa.knowledge.red_flags)
            state.last_result = AssessmentResult(
                findings=(),
                referral=True,
                program=None,
                urgency=referral_urgency(tuple(values["red_flags"]), self.qa.knowledge),
            )
            state.last_input = None
            stopped = self.qa.knowledge.assessment_text.form.stopped_for_flag
            reply = Reply(f"{flags.referral_text()}\n\n{stopped}", kind="red_flag")
            return Step([reply], state)
        if next_step(self.steps, form.answers) is not None:
            return self._with_prompt(state, [Reply(note) for note in notes or []])
        data = assessment_input(self.steps, form.answers)
        result = assess(data, self.qa.knowledge)
        previous = state.last_input
        state.assessment = None
        state.last_result, state.last_input = result, data
        state.tests_completed += 1
        replies = [Reply(findings_text(result, self.qa.knowledge), kind="findings")]
        if self.charts:
            from bot.charts import results_chart

            try:
                replies.append(Reply("", image=results_chart(data, previous), kind="chart"))
            except Exception:  # a chart is a nicety; the findings and program must arrive
                log.exception("chart rendering failed")
        if result.program is not None:
            weeks = result.program.retest_after_weeks
            replies.append(self._plan_reply(result.program))
            words = self.qa.knowledge.assessment_text.program
            replies.append(
                Reply(
                    words.reminder_offer.format(weeks=weeks),
                    buttons=(
                        (
                            Button(
                                words.reminder_yes.format(weeks=weeks), payload=f"remind:{weeks}"
                            ),
                            Button(words.reminder_no, payload="remind:no"),
                        ),
                    ),
                    kind="reminder_offer",
                )
            )
        return Step(replies, state)

    def _interruption(self, state: ConversationState, text: str) -> Step:
        try:
            answer = self.qa.answer(text)
        except InvalidQuestion as exc:
            return self._with_prompt(
                state, [Reply(f"Sorry, I can't use that: {exc}.")], show_how_to=False
            )
        if answer.red_flag:
            state.assessment = None
            return Step(
                [
                    answer_reply(answer),
                    STOPPED,
                ],
                state,
            )
        return self._with_prompt(state, [answer_reply(answer)], show_how_to=False)

    def _faq(self, state: ConversationState, faq_id: str) -> Step:
        if self.qa.knowledge.faq_entry(faq_id) is None:
            return Step(
                [Reply("I don't know that FAQ link. Type /faq to see the questions.")], state
            )
        reply = answer_reply(self.qa.faq_answer(faq_id))
        faq_entry = self.qa.knowledge.faq_entry(faq_id)
        assert faq_entry is not None
        reply = Reply(
            text=f"{faq_entry.question}\n\n{reply.text}",
            section=reply.section,
            kind="faq",
            buttons=reply.buttons,
        )
        if state.assessment is not None:
            return self._with_prompt(state, [reply], show_how_to=False)
        return Step([reply], state)

    def _program_reply(self, state: ConversationState) -> Reply:
        result = state.last_result
        if result is None or result.program is None:
            return Reply(
                self.qa.knowledge.assessment_text.program.no_program,
                buttons=((START_TEST_BUTTON,),),
            )
        return self._plan_reply(result.program)

    def _plan_reply(self, program: Program) -> Reply:
        """The week by session, with the reasons one tap away."""
        words = self.qa.knowledge.assessment_text.program
        return Reply(
            program_text(program, self.qa.knowledge),
            kind="program",
            buttons=((Button(words.why_button, payload=WHY_PAYLOAD),),),
        )

    def _reasons_reply(self, state: ConversationState) -> Reply:
        result = state.last_result
        if result is None or result.program is None:
            return self._program_reply(state)
        return Reply(reasons_text(result.program, self.qa.knowledge), kind="program_reasons")

    # -- questions ------------------------------------------------------------------------

    def _question(self, state: ConversationState, text: str) -> Step:
        try:
            answer = self.qa.answer(text)
        except InvalidQuestion as exc:
            return Step([Reply(f"Sorry, I can't use that: {exc}.")], state)
        state.last_question = answer.question
        return Step([answer_reply(answer)], state)
