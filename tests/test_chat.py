"""The engine and the terminal chat over it, driven like a user would."""

from __future__ import annotations

import io

from bot.engine import ConversationState, Engine, Incoming
from bot.engine.form import build_steps
from bot.qa.service import QAService
from bot.rendering import html_parts, split_message, to_plain
from bot.terminal import run_chat

STEPS = len(build_steps())  # "Step N of STEPS": the form's own length, not a literal


def test_engine_answers_questions_with_their_section(qa: QAService) -> None:
    engine = Engine(qa)
    state = ConversationState.new("u1")
    step = engine.handle(
        state,
        Incoming(channel="test", user_id="u1", text="what is the gold standard for achilles rehab"),
    )
    (reply,) = step.replies
    assert "eccentric" in reply.text.lower()
    assert reply.sections and "Programming" in reply.sections[0]
    started = engine.handle(state, Incoming("test", "u1", "/assess"))
    assert started.state.assessment is not None
    assert state.assessment is None  # the input state is not mutated


def test_engine_commands_small_talk_and_bad_input(qa: QAService) -> None:
    engine = Engine(qa)
    state = ConversationState.new("u1")
    assert (
        "Just type a question"
        in engine.handle(state, Incoming("test", "u1", "/start")).replies[0].text
    )
    assert "Commands" in engine.handle(state, Incoming("test", "u1", "/help")).replies[0].text
    assert "/help" in engine.handle(state, Incoming("test", "u1", "/nope")).replies[0].text
    assert "welcome" in engine.handle(state, Incoming("test", "u1", "thanks!")).replies[0].text
    bad = engine.handle(state, Incoming("test", "u1", "x" * 2000)).replies[0].text
    assert "under 1000 characters" in bad


def test_terminal_chat_session(make_app) -> None:
    stdin = io.StringIO(
        "hi\nwhy do most people have weak soleus muscles?\nwhat's the capital of France?\n"
        "my foot went numb\n/quit\nnever read\n"
    )
    stdout = io.StringIO()
    assert run_chat(make_app().conversations, stdin=stdin, stdout=stdout) == 0
    out = stdout.getvalue()
    assert "Hi! I'm CalfCoach" in out
    assert "Section" in out and "standing calf raise" in out.lower()
    assert "I only know the calf and ankle guide" in out
    assert "clinician" in out or "doctor" in out
    assert "never read" not in out and out.rstrip().endswith("Bye - train those calves!")


def test_html_rendering_escapes_user_text_and_splits_long_messages() -> None:
    from bot.engine import Reply

    (html,) = html_parts(Reply(text="<b>5 < 6</b> & more", sections=("Soleus > Training",)))
    assert html.startswith("&lt;b&gt;5 &lt; 6&lt;/b&gt; &amp; more")
    assert html.endswith("<i>Section: Soleus &gt; Training</i>")
    assert to_plain(Reply(text="a", sections=("S",))) == "a\n\nSection: S"
    parts = split_message(("word " * 300 + "\n\n") * 5, limit=4096)
    assert len(parts) == 3 and all(len(p) <= 4096 for p in parts)  # 2 + 2 + 1 paragraphs
    assert " ".join(parts).split() == (("word " * 300) * 5).split()


def test_terminal_self_test_with_typed_buttons(make_app) -> None:
    script = "\n".join(
        [
            "hi",
            "start the self-test",
            "no",
            "25",
            "25",
            "25",
            "25",
            "skip",
            "neither",
            "ankle sprains",
            "done",
            "/program",
            "/quit",
        ]
    )
    stdout = io.StringIO()
    run_chat(make_app().conversations, stdin=io.StringIO(script + "\n"), stdout=stdout)
    out = stdout.getvalue()
    assert f"Step 1 of {STEPS}" in out and f"Step 9 of {STEPS}" in out
    assert "[Start the self-test]" in out
    assert "history of ankle sprains (balance test skipped)" in out
    assert out.count("Your weekly program") == 2  # after the test and for /program
    assert "Resistance band eversion" in out


def test_terminal_report_writes_the_image_and_the_pdf(make_app, tmp_path) -> None:
    """The terminal cannot show an image or a file: it writes them and shows the path;
    the report's "PDF" button is typed like any other."""
    test = ["/report", "/assess", "no", "25", "25", "25", "25", "skip", "neither", "none"]
    script = "\n".join([*test, "/report", "pdf", "/coach", "/quit"])
    stdout = io.StringIO()
    run_chat(
        make_app().conversations,
        stdin=io.StringIO(script + "\n"),
        chart_dir=tmp_path,
        stdout=stdout,
    )
    out = stdout.getvalue()
    assert "nothing to report yet" in out
    image = next(tmp_path.glob("report-*.png"))
    pdf = next(tmp_path.glob("*.pdf"))
    assert image.read_bytes().startswith(b"\x89PNG") and pdf.read_bytes().startswith(b"%PDF")
    assert f"(saved to {image})" in out and f"(saved to {pdf})" in out
    assert "[PDF]" in out
    assert "/start coach_" in out  # no deep links in a terminal: the code to type instead


def test_inline_articles_fit_telegram_without_cutting_an_entity() -> None:
    """A long answer full of characters that escape (&, <) is cut before escaping."""
    import re

    from bot.qa.models import Answer, Source
    from bot.telegram.inline import MESSAGE_MAX_CHARS, _message

    body = "5 < 6 & 7 > 3 " * 800
    answer = Answer(
        question="q",
        in_scope=True,
        red_flag=False,
        answer=body,
        body=body,
        sources=[Source(section="Soleus > Training implications", score=1.0)],
    )
    message = _message("A title & more", answer, "https://t.me/calfcoachbot")
    assert len(message) <= MESSAGE_MAX_CHARS
    assert not re.search(r"&(?!amp;|lt;|gt;|quot;|#x27;)", message)  # no half entity
    assert (
        message.endswith("</a>") and "<i>Section: Soleus &gt; Training implications</i>" in message
    )


def test_typing_an_old_buttons_label_later_is_an_answer(make_app) -> None:
    """The safety checklist shows [1]..[10]; at a later step "9" is a rep count."""
    script = "/assess\nno\n22\n18\n9\n/quit\n"
    stdout = io.StringIO()
    run_chat(make_app().conversations, stdin=io.StringIO(script), stdout=stdout)
    out = stdout.getvalue()
    assert "belongs to another step" not in out
    assert "RIGHT leg, knee bent" in out  # 9 was taken as the left bent-knee count
