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

from bot.assessment import AssessmentInput, AssessmentResult, assess
from bot.assessment.report import findings_text, program_text
from bot.engine.form import HISTORY_IDS, PREFIX, FormStep, Invalid, build_steps, next_step
from bot.engine.messages import Button, Incoming, Reply
from bot.engine.referral import ReferralState, follow
from bot.engine.state import ConversationState, FormState
from bot.qa.models import Answer
from bot.qa.question import InvalidQuestion
from bot.qa.service import QAService
from bot.safety import Triage, rule_flags

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
START_TEST_BUTTON = Button("Start the self-test", payload=f"{PREFIX}start")

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


def _values(answers: dict[str, Any]) -> AssessmentInput:
    balance = (
        {"left": answers["balance_left"], "right": answers["balance_right"]}
        if answers.get("balance_left") is not None and answers.get("balance_right") is not None
        else None
    )
    return AssessmentInput.model_validate(
        {
            "straight_knee_reps": {
                "left": answers["straight_left"],
                "right": answers["straight_right"],
            },
            "bent_knee_reps": {"left": answers["bent_left"], "right": answers["bent_right"]},
            "balance_seconds": balance,
            "heel_valgus": answers["heel_valgus"],
            "history": answers["history"],
            "red_flags": answers.get("red_flags", []),
        }
    )


class Engine:
    """Stateless itself: every call takes the state and returns the next one."""

    def __init__(self, qa: QAService, *, charts: bool = True) -> None:
        self.qa = qa
        self.charts = charts
        self.steps: tuple[FormStep, ...] = build_steps()

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
        if command in {"/start", "/restart"}:
            state.referral = None  # starting over ends a referral (issue 12)
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
        if name == "hist":
            return self._history_button(state, value)
        return self._form_answer(state, value)

    def _history_button(self, state: ConversationState, value: str) -> Step:
        form = state.assessment
        assert form is not None
        if value in HISTORY_IDS:
            draft = set(form.history_draft) ^ {value}
            form.history_draft = sorted(draft, key=HISTORY_IDS.index)
            chosen = ", ".join(v.replace("_", " ") for v in form.history_draft) or "nothing yet"
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
            reply = Reply(f"Selected: {chosen}. Tap more, or Done.", buttons=ticked, edit=True)
            return Step([reply], state)
        values = form.history_draft if value == "done" else []
        return self._fill(state, {"history": values})

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
        flags = self._form_triage(text)
        if flags.is_red_flag:
            return self._stop_test(state, flags)
        step = next_step(self.steps, form.answers)
        assert step is not None
        if step.name == "history" and text.lower() == "done":
            return self._fill(state, {"history": list(form.history_draft)})
        try:
            values = step.parse(text)
        except Invalid as exc:
            # A question mid-test is answered, then the step is asked again; a line with
            # a number in it was meant as an answer, so it gets the re-ask instead.
            if _QUESTION.search(text.lower()) or (
                len(text.split()) >= 4 and not re.search(r"\d", text)
            ):
                return self._interruption(state, text)
            return self._with_prompt(
                state,
                [Reply(f"Sorry, I couldn't use that. {exc}", kind="reask")],
                show_how_to=False,
            )
        return self._fill(state, values)

    def _fill(self, state: ConversationState, values: dict[str, Any]) -> Step:
        form = state.assessment
        assert form is not None
        form.answers.update(values)
        form.order.append(list(values))
        form.history_draft = []
        if values.get("red_flags"):
            state.assessment = None
            flags = Triage.of(tuple(values["red_flags"]), self.qa.knowledge.red_flags)
            state.referral = ReferralState(flags=flags.ids)
            state.last_result = AssessmentResult(findings=(), referral=True, program=None)
            state.last_input = None
            stopped = (
                "I've stopped the self-test: with this, a clinician should see you before "
                "any calf testing or training."
            )
            text = flags.referral_text(self.qa.knowledge.triage_text)
            reply = Reply(f"{text}\n\n{stopped}", kind="red_flag")
            return Step([reply], state)
        if next_step(self.steps, form.answers) is not None:
            return self._with_prompt(state, [])
        data = _values(form.answers)
        result = assess(data)
        previous = state.last_input
        state.assessment = None
        state.last_result, state.last_input = result, data
        state.tests_completed += 1
        replies = [Reply(findings_text(result), kind="findings")]
        if self.charts:
            from bot.charts import results_chart

            try:
                replies.append(Reply("", image=results_chart(data, previous), kind="chart"))
            except Exception:  # a chart is a nicety; the findings and program must arrive
                log.exception("chart rendering failed")
        if result.program is not None:
            weeks = result.program.retest_after_weeks
            replies.append(Reply(program_text(result.program), kind="program"))
            replies.append(
                Reply(
                    f"Shall I remind you to re-test in {weeks} weeks?",
                    buttons=(
                        (
                            Button(f"Remind me in {weeks} weeks", payload=f"remind:{weeks}"),
                            Button("No, thanks", payload="remind:no"),
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
            return self._stop_test(
                state, Triage.of(answer.red_flag_ids, self.qa.knowledge.red_flags)
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
                "You don't have a program yet. Type /assess to take the self-test and get one.",
                buttons=((START_TEST_BUTTON,),),
            )
        return Reply(program_text(result.program), kind="program")

    # -- questions ------------------------------------------------------------------------

    def _question(self, state: ConversationState, text: str) -> Step:
        try:
            answer = self.qa.answer(text)
        except InvalidQuestion as exc:
            return Step([Reply(f"Sorry, I can't use that: {exc}.")], state)
        state.last_question = answer.question
        red_flags = self.qa.knowledge.red_flags
        now = Triage.of(answer.red_flag_ids, red_flags)
        decision = follow(state.referral, answer.question, now, self._combined(state, answer))
        state.referral = decision.state if decision.state != ReferralState() else None
        wording = self.qa.knowledge.triage_text
        if decision.action in {"refer", "not_until_checked"}:
            referral = Triage.of(decision.flags, red_flags).referral_text(wording)
            if decision.action == "not_until_checked":
                referral = f"{wording.not_until_checked}\n\n{referral}"
            return Step([Reply(referral, kind="red_flag")], state)
        if decision.action == "cleared":
            return Step([Reply(wording.cleared), answer_reply(answer)], state)
        return Step([answer_reply(answer)], state)

    def _combined(self, state: ConversationState, answer: Answer) -> Triage | None:
        """Triage of the previous message and this one together, when this one alone
        raised nothing and no referral is in force (details told across two messages)."""
        previous = state.referral.previous if state.referral else ""
        if answer.red_flag or not previous or (state.referral and state.referral.flags):
            return None
        room = 1000 - len(answer.question) - 1
        if room < 20:
            return None
        try:
            return self.qa.triage(f"{previous[-room:]}\n{answer.question}")
        except InvalidQuestion:
            return None

    # -- triage mid-test ------------------------------------------------------------------

    def _form_triage(self, text: str) -> Triage:
        """A red flag typed mid-test. Short answers ("12", "left", "none") get the rules
        only: a nearest-example vote means nothing on a number."""
        if len(text.split()) < 3:
            return Triage.of(rule_flags(text), self.qa.knowledge.red_flags)
        try:
            return self.qa.triage(text)
        except InvalidQuestion:
            return Triage.of((), self.qa.knowledge.red_flags)

    def _stop_test(self, state: ConversationState, flags: Triage) -> Step:
        """End the test with the referral, and keep the referral in force afterwards."""
        state.assessment = None
        state.referral = ReferralState(flags=flags.ids)
        wording = self.qa.knowledge.triage_text
        return Step(
            [
                Reply(flags.referral_text(wording), kind="red_flag"),
                Reply(wording.test_stopped),
            ],
            state,
        )
