"""The dialog engine: commands, questions from the guide and the guided self-test.

``Engine.handle(state, incoming)`` is a pure step: it never mutates ``state`` and knows
no transport or storage. Mid-test, anything that is not an answer is treated like a
Rasa form interruption: a question is answered from the guide and the step asked again;
a red flag ends the test with a referral. Commands come from the one command table
(:mod:`bot.commands`); button payloads are parsed strictly (:mod:`bot.payloads`); every
phrase comes from ``knowledge/data/phrases.yaml``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.assessment import AssessmentResult, assess
from bot.assessment.ids import check_ids
from bot.assessment.models import Program
from bot.assessment.outcome import referral_urgency
from bot.assessment.report import findings_text, program_text, reasons_text
from bot.commands import CommandTable, ParsedCommand
from bot.engine.form import (
    HISTORY_BUTTON,
    FormStep,
    Invalid,
    Parsed,
    assessment_input,
    build_steps,
    history_ids,
    next_step,
)
from bot.engine.messages import Button, Incoming, Reply
from bot.engine.referral import ReferralState, follow
from bot.engine.small_talk import SmallTalk, small_talk
from bot.engine.state import ConversationState, FormState
from bot.payloads import (
    BadPayload,
    ClientAction,
    ClientFaq,
    Consent,
    DataChoice,
    Faq,
    FormAnswer,
    NewInvite,
    Related,
    Remind,
    ReportRequest,
    StartTest,
    StopSharing,
    Why,
    encode,
    parse_payload,
)
from bot.qa.followup import Topic
from bot.qa.models import Answer
from bot.qa.question import InvalidQuestion
from bot.qa.service import QAService
from bot.safety import Triage, rule_flags
from knowledge.texts import Phrases, load_coach_text, load_phrases

log = logging.getLogger(__name__)

_DONE_WORDS = {"done", "finished", "that's it", "thats it", "that's all"}


_QUESTION = re.compile(
    r"\?\s*$|^(?:what|why|how|when|where|which|who|is|are|can|could|do|does|did|should|"
    r"would|will|tell|explain)\b"
)
# What a question right after a program is read with (retrieval words, never shown).
PROGRAM_TOPIC = Topic(text="my weekly calf raise training program: sessions per week, sets, reps")
# After a self-test: questions about the person's own results and program.
_WHY_MY_PROGRAM = re.compile(
    r"\bwhy\b.{0,40}\b(?:left|right|weaker|side first|first side|this exercise|these exercises|"
    r"my (?:program|plan|routine)|the (?:program|plan)|(?:in|on) (?:my|the) (?:program|plan))\b"
)
_MY_RESULTS = re.compile(
    r"\b(?:my|the) (?:self[- ]?test|test|results?|findings|numbers|scores?)\b.{0,30}"
    r"\b(?:show|showed|mean|means|say|said|find|found|tell|told)\b"
    r"|\bwhat (?:did|does|do) (?:my|the) (?:self[- ]?test|test|results?|numbers)\b"
)
_MY_PROGRAM = re.compile(
    r"\b(?:show|send|see|give|repeat|what(?:'s| is| was)?)\b.{0,20}\b(?:my|the) "
    r"(?:program(?:me)?|plan|routine|workout)\b(?!.{0,20}\b(?:times|days|week|weekly)\b)"
)
# A question mid-test about doing the step itself (answered with the step's how-to).
_ABOUT_THE_STEP = re.compile(
    r"\b(?:this one|this test|this step|that one|bent knee|knee bent|straight knee|"
    r"knee straight|sit(?:ting)?|stand(?:ing)?|clean reps?|count(?:ing)?|how do i (?:do|time|"
    r"measure|count)|what (?:does|do) (?:you|u) mean|what do i do|which leg|both legs|"
    r"how high|how far|cushion|pad|pillow|shoes? on|barefoot|hold on(?:to)?|wall|support)\b"
)
# Commands the engine answers from the conversation state alone; the conversation
# service binds the ones that need the store. Together they must match the table.
ENGINE_COMMANDS = ("start", "help", "assess", "restart", "cancel", "back", "faq", "program")


@dataclass(frozen=True)
class Step:
    """The result of one engine step: what to send and the state to keep."""

    replies: list[Reply]
    state: ConversationState


def start_test_button(phrases: Phrases) -> Button:
    return Button(phrases.start_test_button, payload=encode(StartTest()))


def answer_reply(answer: Answer, phrases: Phrases, *, in_chat: bool = True) -> Reply:
    """A QA answer as a reply, with related questions, the self-test and a share button.

    Red flags get no buttons: the only next step offered is seeing a clinician. A decline
    in a chat (not inside the self-test) also points to the self-test.
    """
    if answer.kind == "red_flag":
        return Reply(text=answer.body, kind=answer.kind, answer=answer)
    text = answer.body
    if answer.kind == "out_of_scope" and in_chat:
        text = f"{text}\n{phrases.out_of_scope_chat_suffix}"
    rows: list[tuple[Button, ...]] = [
        (Button(label[:60], payload=payload),) for label, payload in answer.related
    ]
    actions = [start_test_button(phrases)] if in_chat else []
    if answer.kind != "out_of_scope":
        share = answer.question if answer.faq_id is None else encode(Faq(answer.faq_id))
        actions.append(Button(phrases.share_button, share_query=share[:256]))
    if actions:
        rows.append(tuple(actions))
    return Reply(
        text=text,
        sections=tuple(s.section for s in answer.sources),
        kind=answer.kind,
        buttons=tuple(rows),
        answer=answer,
    )


CommandHandler = Callable[[ConversationState, str], list[Reply]]


class Engine:
    """Stateless itself: every call takes the state and returns the next one."""

    def __init__(
        self,
        qa: QAService,
        *,
        charts: bool = True,
        commands: CommandTable | None = None,
        phrases: Phrases | None = None,
    ) -> None:
        self.qa = qa
        self.charts = charts
        check_ids(qa.knowledge)  # an id the code names but the data lacks stops start-up
        self.steps: tuple[FormStep, ...] = build_steps(qa.knowledge)
        self.history_ids = history_ids(qa.knowledge)
        self.commands = commands or CommandTable()
        self.phrases = phrases or load_phrases()
        self.report_words = load_coach_text().report
        self.steps: tuple[FormStep, ...] = build_steps()
        self.command_handlers: dict[str, CommandHandler] = {
            name: getattr(self, f"_cmd_{name}") for name in ENGINE_COMMANDS
        }

    # -- entry point -------------------------------------------------------------------

    def handle(self, state: ConversationState, incoming: Incoming) -> Step:
        state = state.model_copy(deep=True)
        if incoming.payload is not None:
            return self._payload(state, incoming.payload)
        text = incoming.text.strip()
        command = self.commands.parse(text)
        if command is not None:
            return self.run_command(state, command)
        if state.assessment is not None:
            return self._form_answer(state, text)
        lowered = text.lower()
        if lowered in _DONE_WORDS and state.last_result is not None:
            # A "done" after the last answer finished the test is not a question.
            words = self.qa.knowledge.assessment_text.form
            return Step([Reply(words.already_done)], state)
        talk = small_talk(text)
        if talk is not None:
            return Step([self._small_talk_reply(talk)], state)
        mine = self._about_my_results(state, text)
        if mine is not None:
            return Step([mine], state)
        return self._question(state, text)

    def _about_my_results(self, state: ConversationState, text: str) -> Reply | None:
        """After a self-test, "what did my test show?", "why the left side first?" and
        "show me my program again" are about the person's own results, not the guide
        in general: they get the findings, the reasons or the plan they were given."""
        result = state.last_result
        if result is None or result.program is None:
            return None
        lowered = text.lower()
        if _WHY_MY_PROGRAM.search(lowered):
            return self._reasons_reply(state)
        if _MY_RESULTS.search(lowered):
            return Reply(findings_text(result, self.qa.knowledge), kind="findings")
        if _MY_PROGRAM.search(lowered):
            return self._plan_reply(result.program)
        return None

    def _small_talk_reply(self, talk: SmallTalk) -> Reply:
        if talk == "greeting":
            return self._greeting()
        text = {
            "thanks": self.phrases.small_talk_thanks,
            "ack": self.phrases.small_talk_ack,
            "bye": self.phrases.small_talk_bye,
        }[talk]
        return Reply(text)

    def prompt(self, state: ConversationState) -> Reply:
        """The open self-test step, asked again (without its how-to)."""
        return self._prompt(state, show_how_to=False)

    # -- commands ----------------------------------------------------------------------

    def run_command(self, state: ConversationState, command: ParsedCommand) -> Step:
        """Run an engine command; an unknown one is answered with the known ones. Mid-test,
        a command of kind ``reask`` is followed by the open step, asked again."""
        handler = self.command_handlers.get(command.name) if command.spec else None
        if handler is None:
            replies = [
                Reply(
                    self.phrases.unknown_command.format(command=command.name)
                    + "\n"
                    + self.commands.known_commands_text()
                )
            ]
        else:
            replies = handler(state, command.argument)
        if state.assessment is not None and not (replies and replies[-1].kind == "prompt"):
            replies = [*replies, self.prompt(state)]
        return Step(replies, state)

    def _greeting(self) -> Reply:
        text = f"{self.phrases.greeting} {self.commands.help_text(self.phrases, in_test=False)}"
        return Reply(text, buttons=((start_test_button(self.phrases),),))

    def _cmd_start(self, state: ConversationState, argument: str) -> list[Reply]:
        state.referral = None  # starting over ends a referral
        if argument == "assess":
            return self._cmd_assess(state, "")
        if argument.startswith("faq_"):
            return self._faq(state, argument.removeprefix("faq_"))
        if state.assessment is not None:
            return [Reply(self.phrases.welcome_back_in_test)]
        return [self._greeting()]

    def _cmd_help(self, state: ConversationState, argument: str) -> list[Reply]:
        in_test = state.assessment is not None
        return [Reply(self.commands.help_text(self.phrases, in_test=in_test))]

    def _cmd_assess(self, state: ConversationState, argument: str) -> list[Reply]:
        if state.assessment is not None:
            return [Reply(self.phrases.resume_test)]
        return self._start_test(state).replies

    def _cmd_restart(self, state: ConversationState, argument: str) -> list[Reply]:
        state.referral = None  # starting over ends a referral
        return self._start_test(state, restarted=True).replies

    def _cmd_cancel(self, state: ConversationState, argument: str) -> list[Reply]:
        if state.assessment is None:
            return [Reply(self.phrases.no_test_running)]
        state.assessment = None
        return [Reply(self.phrases.test_cancelled)]

    def _cmd_back(self, state: ConversationState, argument: str) -> list[Reply]:
        return self._back(state).replies

    def _cmd_faq(self, state: ConversationState, argument: str) -> list[Reply]:
        rows = tuple(
            (Button(entry.question[:60], payload=encode(Faq(entry.id))),)
            for entry in self.qa.knowledge.faq
        )
        return [Reply(self.phrases.faq_heading, buttons=rows)]

    def _cmd_program(self, state: ConversationState, argument: str) -> list[Reply]:
        return [self._program_reply(state)]

    # -- buttons -------------------------------------------------------------------------

    def _payload(self, state: ConversationState, raw: str) -> Step:
        in_test = state.assessment is not None
        try:
            payload = parse_payload(raw)
        except BadPayload:
            log.info("unreadable button payload")
            reply = Reply(self.phrases.button_invalid)
            return self._with_prompt(state, [reply]) if in_test else Step([reply], state)
        match payload:
            case Faq(faq_id):
                replies = self._faq(state, faq_id)
                return self._with_prompt(state, replies) if in_test else Step(replies, state)
            case Related():
                question = self.qa.related_question(payload)
                if question is None:
                    reply = Reply(self.phrases.button_expired)
                    return self._with_prompt(state, [reply]) if in_test else Step([reply], state)
                if in_test:
                    return self._interruption(state, question)
                return self._question(state, question)
            case Why():
                return Step([self._reasons_reply(state)], state)
            case StartTest():
                return (
                    Step(self._cmd_assess(state, ""), state)
                    if not in_test
                    else (self._with_prompt(state, [Reply(self.phrases.resume_test)]))
                )
            case FormAnswer(name, value) if in_test:
                assert state.assessment is not None
                step = next_step(self.steps, state.assessment.answers)
                if step is None or not step.name.startswith(name):
                    return self._with_prompt(state, [Reply(self.phrases.button_other_step)])
                if name == HISTORY_BUTTON:
                    return self._history_button(state, value)
                return self._form_answer(state, value)
            case (
                Remind()
                | DataChoice()
                | NewInvite()
                | Consent()
                | ClientAction()
                | ClientFaq()
                | StopSharing()
                | ReportRequest()
            ):
                # Handled by the conversation service, which owns the store.
                raise ValueError(f"{type(payload).__name__} reached the engine")
        return Step([Reply(self.phrases.button_expired_test)], state)

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
        intro = self.phrases.test_restarted if restarted else self.phrases.test_intro
        test_help = self.commands.help_text(self.phrases, in_test=True)
        return self._with_prompt(state, [Reply(f"{intro}\n\n{test_help}")], show_how_to=True)

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
            return Step([Reply(self.phrases.no_test_running)], state)
        if not form.order:
            return self._with_prompt(state, [Reply(self.phrases.first_question_already)])
        for slot in form.order.pop():
            form.answers.pop(slot, None)
        form.history_draft = []
        return self._with_prompt(state, [Reply(self.phrases.redo_answer)])

    def _form_answer(self, state: ConversationState, text: str) -> Step:
        form = state.assessment
        assert form is not None
        flags = self._form_triage(text)
        if flags.is_red_flag:
            return self._stop_test(state, flags)
        step = next_step(self.steps, form.answers)
        assert step is not None
        talk = small_talk(text)
        if talk is not None and talk != "ack":  # "ok" may be an answer ("ok" = no)
            phrase = (
                self.phrases.small_talk_in_test_thanks
                if talk == "thanks"
                else self.phrases.small_talk_in_test
            )
            return self._with_prompt(state, [Reply(phrase)], show_how_to=False)
        if _QUESTION.search(text.lower()) and not re.search(r"\d", text):
            # Asked, not answered ("do I sit down for this one?" holds "one", not a count).
            how_to = self._step_help(step, text)
            if how_to is not None:
                return self._with_prompt(state, [how_to], show_how_to=False)
            if step.name != "history":  # "what is plantar fasciitis?" is handled below
                return self._interruption(state, text)
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
            state.referral = ReferralState(flags=flags.ids)
            state.last_result = AssessmentResult(
                findings=(),
                referral=True,
                program=None,
                urgency=referral_urgency(tuple(values["red_flags"]), self.qa.knowledge),
            )
            state.last_input = None
            stopped = self.qa.knowledge.assessment_text.form.stopped_for_flag
            text = flags.referral_text(self.qa.knowledge.triage_text)
            reply = Reply(f"{text}\n\n{stopped}", kind="red_flag")
            return Step([reply], state)
        if next_step(self.steps, form.answers) is not None:
            return self._with_prompt(state, [Reply(note) for note in notes or []])
        data = assessment_input(self.steps, form.answers)
        result = assess(data, self.qa.knowledge)
        previous = state.last_input
        state.assessment = None
        state.last_result, state.last_input = result, data
        state.tests_completed += 1
        # Questions right after the program ("can I do this 3 times a week?") are about it.
        state.topic = PROGRAM_TOPIC
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
                                words.reminder_yes.format(weeks=weeks),
                                payload=encode(Remind(weeks)),
                            ),
                            Button(words.reminder_no, payload=encode(Remind(None))),
                        ),
                    ),
                    kind="reminder_offer",
                )
            )
        return Step(replies, state)

    def _step_help(self, step: FormStep, text: str) -> Reply | None:
        """A question about how to do the open step ("what does bent knee mean?", "do I
        sit down for this one?") gets the step's own how-to, not a guide passage."""
        if not (_QUESTION.search(text.lower()) and _ABOUT_THE_STEP.search(text.lower())):
            return None
        how_to = step.how_to or next(
            (s.how_to for s in reversed(self.steps[: self.steps.index(step)]) if s.how_to),
            None,
        )
        if how_to is None or step.name == "safety":
            return None
        return Reply(f"{self.phrases.step_help_heading} {how_to}", kind="step_help")

    def _interruption(self, state: ConversationState, text: str) -> Step:
        try:
            answer = self.qa.answer(text)
        except InvalidQuestion as exc:
            reply = Reply(self.phrases.cannot_use_question.format(reason=exc))
            return self._with_prompt(state, [reply], show_how_to=False)
        if answer.red_flag:
            return self._stop_test(
                state, Triage.of(answer.red_flag_ids, self.qa.knowledge.red_flags)
            )
        reply = answer_reply(answer, self.phrases, in_chat=False)
        return self._with_prompt(state, [reply], show_how_to=False)

    def _faq(self, state: ConversationState, faq_id: str) -> list[Reply]:
        card = self.faq_card(faq_id, in_chat=state.assessment is None)
        return [card if card is not None else Reply(self.phrases.faq_unknown)]

    def faq_card(self, faq_id: str, *, in_chat: bool = True) -> Reply | None:
        """One FAQ answer card (question, answer, section), as /faq and a coach send it;
        None for an id the FAQ does not have."""
        entry = self.qa.knowledge.faq_entry(faq_id)
        if entry is None:
            return None
        reply = answer_reply(self.qa.faq_answer(faq_id), self.phrases, in_chat=in_chat)
        return Reply(
            text=f"{entry.question}\n\n{reply.text}",
            sections=reply.sections,
            kind="faq",
            buttons=reply.buttons,
        )

    def _program_reply(self, state: ConversationState) -> Reply:
        result = state.last_result
        if result is None or result.program is None:
            return Reply(
                self.qa.knowledge.assessment_text.program.no_program,
                buttons=((start_test_button(self.phrases),),),
            )
        return self._plan_reply(result.program)

    def _plan_reply(self, program: Program) -> Reply:
        """The week by session, with the reasons one tap away."""
        words = self.qa.knowledge.assessment_text.program
        report = Button(self.report_words.report_button, payload=encode(ReportRequest(False)))
        return Reply(
            program_text(program, self.qa.knowledge),
            kind="program",
            buttons=((Button(words.why_button, payload=encode(Why())),), (report,)),
        )

    def _reasons_reply(self, state: ConversationState) -> Reply:
        result = state.last_result
        if result is None or result.program is None:
            return self._program_reply(state)
        return Reply(reasons_text(result.program, self.qa.knowledge), kind="program_reasons")

    # -- questions ------------------------------------------------------------------------

    def _question(self, state: ConversationState, text: str) -> Step:
        try:
            answer, topic = self.qa.answer_in_context(text, state.topic)
        except InvalidQuestion as exc:
            return Step([Reply(self.phrases.cannot_use_question.format(reason=exc))], state)
        red_flags = self.qa.knowledge.red_flags
        now = Triage.of(answer.red_flag_ids, red_flags)
        decision = follow(state.referral, answer.question, now, self._combined(state, answer))
        state.referral = decision.state if decision.state != ReferralState() else None
        wording = self.qa.knowledge.triage_text
        if decision.action in {"refer", "not_until_checked"}:
            flags = Triage.of(decision.flags, red_flags)
            referral = self.qa.referral_answer(answer.question, flags)
            text = referral.body
            if decision.action == "not_until_checked":
                text = f"{wording.not_until_checked}\n\n{text}"
            state.topic = None  # an injury is not a training topic to build on
            return Step([Reply(text, kind="red_flag", answer=referral)], state)
        # Declined messages leave their words as the topic too: "what would you program
        # for her?" after a question we could not place is read with it.
        state.topic = topic
        if decision.action == "cleared":
            # "It was checked and cleared, just a strain" asks nothing: the acknowledgement
            # ends with "what would you like to know?", and a decline after it would
            # read as if the good news were off-topic. A question told with it is answered.
            if not answer.in_scope:
                return Step([Reply(wording.cleared)], state)
            return Step([Reply(wording.cleared), answer_reply(answer, self.phrases)], state)
        return Step([answer_reply(answer, self.phrases)], state)

    def _combined(self, state: ConversationState, answer: Answer) -> Triage | None:
        """Triage of the previous message and this one together, when this one alone
        raised nothing and no referral is in force (details told across two messages)."""
        previous = state.referral.previous if state.referral else ""
        if answer.red_flag or not previous or (state.referral and state.referral.flags):
            return None
        room = 1000 - len(answer.question) - 1
        if room < 20:
            return None
        return self.qa.triage_across(previous[-room:], answer.question)

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
        referral = self.qa.referral_answer("", flags)
        return Step(
            [
                Reply(referral.body, kind="red_flag", answer=referral),
                Reply(wording.test_stopped),
            ],
            state,
        )
