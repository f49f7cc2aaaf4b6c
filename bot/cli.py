"""The ``calfcoach`` command line: chat, ask, index, eval.

Heavy imports (torch, sentence-transformers, FAISS) happen inside the commands that
need them, so ``calfcoach --help`` and input errors answer at once.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EXIT_USAGE = 2


def _configure_logging(level: str, secrets: Sequence[str] = ()) -> None:
    """The one place logging is set up: ``bot.logs`` keeps the token, the webhook secret
    and message text out of every record, whatever the level."""
    from bot.logs import install

    install(level, secrets)
    # Quiet third-party progress bars and chatter; our own notices go to stderr.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    for noisy in ("bm25s", "sentence_transformers", "transformers", "httpx"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def _error(message: str) -> int:
    from bot.logs import REDACT

    print(f"calfcoach: error: {REDACT(message)}", file=sys.stderr)
    return EXIT_USAGE


def _configuration_problems(exc: Exception) -> str:
    """Pydantic's errors without ``input_value``: a bad WEBHOOK_SECRET must not be
    printed back."""
    errors = getattr(exc, "errors", None)
    if errors is None:
        return type(exc).__name__
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']).upper() or 'settings'}: {err['msg']}"
        for err in errors()
    )


def _load_service():  # -> QAService, imported lazily
    from bot.qa.service import QAService
    from bot.settings import get_settings

    service, notice = QAService.from_settings(get_settings())
    if notice:
        print(f"calfcoach: {notice}", file=sys.stderr)
    return service


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.conversation import Conversations
    from bot.engine import Engine
    from bot.settings import get_settings
    from bot.storage.factory import create_store
    from bot.terminal import run_chat

    settings = get_settings()
    print("Loading the guide...", file=sys.stderr)
    conversations = Conversations(Engine(_load_service()), create_store(settings))
    return run_chat(conversations, chart_dir=settings.data_dir / "charts")


def _read_question(raw: str) -> str | bytes:
    """The question argument; ``-`` reads standard input, at most ``MAX_STDIN_BYTES``
    (raises ``InputTooLarge`` at once for more, instead of reading all of it)."""
    if raw == "-":
        from bot.batch_input import MAX_STDIN_BYTES, read_bounded

        return read_bounded(sys.stdin.buffer, MAX_STDIN_BYTES, "standard input", "one question")
    # Arguments that were not valid UTF-8 arrive with surrogate escapes.
    return raw.encode("utf-8", "surrogateescape")


def cmd_ask(args: argparse.Namespace) -> int:
    from bot.qa.question import InvalidQuestion, validate_question

    if args.batch:
        return _ask_batch(Path(args.batch), as_json=args.json)
    if args.question is None:
        return _error("give a QUESTION (or - to read it from standard input), or --batch FILE")
    from bot.batch_input import InputTooLarge

    try:
        question = validate_question(_read_question(args.question))
    except (InvalidQuestion, InputTooLarge) as exc:
        return _error(str(exc))
    answer = _load_service().answer(question)
    if args.json:
        print(json.dumps(answer.contract(), ensure_ascii=False))
    else:
        print(answer.answer)
    return 0


def _json_line(value: object) -> str:
    """One JSON line, readable (non-ASCII kept) yet never split by a reader that breaks
    lines on U+2028/U+2029 as JavaScript and ``str.splitlines`` do."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _ask_batch(path: Path, *, as_json: bool) -> int:
    """One output line per input line, in order; bad lines get an error object."""
    from bot.batch_input import (
        MAX_BATCH_BYTES,
        InputTooLarge,
        parse_batch,
        read_file_bounded,
    )
    from bot.qa.question import InvalidQuestion, validate_question

    try:
        data = read_file_bounded(path, MAX_BATCH_BYTES, 'JSON lines like {"q": "..."}')
    except InputTooLarge as exc:
        return _error(str(exc))
    except OSError as exc:
        return _error(f"cannot read {path}: {exc.strerror}")
    questions: list[str | None] = []
    errors: dict[int, str] = {}
    for n, line in enumerate(parse_batch(data)):
        try:
            if line.error is not None:
                raise ValueError(line.error)
            item = line.value
            if not isinstance(item, dict) or not isinstance(item.get("q"), str):
                raise ValueError(
                    f'line {line.number}: each line must be an object with a string "q"'
                )
            questions.append(validate_question(item["q"]))
        except InvalidQuestion as exc:
            errors[n] = f"line {line.number}: {exc}"
            questions.append(None)
        except ValueError as exc:
            errors[n] = str(exc)
            questions.append(None)
    service = _load_service() if any(q is not None for q in questions) else None
    valid = [q for q in questions if q is not None]
    answers = iter(service.answer_many(valid)) if service else iter(())
    for n, question in enumerate(questions):
        if question is None:
            print(json.dumps({"error": errors[n]}), flush=False)
            print(f"calfcoach: error: {errors[n]}", file=sys.stderr)
            continue
        answer = next(answers)
        print(_json_line(answer.contract()) if as_json else answer.answer)
    return EXIT_USAGE if errors else 0


NO_TOKEN = (
    "TELEGRAM_BOT_TOKEN is not set. To run on Telegram: create a bot with @BotFather "
    "(/newbot), switch on inline mode (/setinline), then export TELEGRAM_BOT_TOKEN=<token>. "
    "To try CalfCoach without a token: calfcoach chat"
)


def cmd_telegram(args: argparse.Namespace) -> int:
    """Run the Telegram bot: long polling, or a webhook server when WEBHOOK_URL is set."""
    from bot.settings import get_settings

    settings = get_settings()
    if settings.telegram_bot_token is None:
        return _error(NO_TOKEN)
    if settings.webhook_url and settings.webhook_secret is None:
        return _error("WEBHOOK_SECRET is required with WEBHOOK_URL (1-256 of A-Z a-z 0-9 _ -)")
    from bot.conversation import Conversations
    from bot.engine import Engine
    from bot.storage.base import StoreUnavailable
    from bot.storage.factory import create_store
    from bot.telegram.app import run
    from bot.telegram.runner import StartupError

    qa = _load_service()
    try:
        run(settings, Conversations(Engine(qa), create_store(settings)), qa)
    except (StartupError, StoreUnavailable) as exc:  # a clear line, not a traceback
        return _error(str(exc))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """The main job: the Telegram bot when a token is set, else the terminal chat."""
    from bot.settings import get_settings

    if get_settings().telegram_bot_token is None:
        print("No TELEGRAM_BOT_TOKEN set: starting the terminal chat.", file=sys.stderr)
        return cmd_chat(args)
    return cmd_telegram(args)


def cmd_assess(args: argparse.Namespace) -> int:
    """Evaluate a JSON file of self-test results: findings, referral, program."""
    from pydantic import ValidationError

    from bot.assessment import AssessmentInput, assess
    from bot.assessment.report import findings_text, program_text

    path = Path(args.input)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return _error(f"cannot read {path}: {exc.strerror}")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return _error(f"{path} is not UTF-8 JSON")
    except json.JSONDecodeError as exc:
        return _error(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        )
    try:
        results = AssessmentInput.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'input'}: {err['msg']}"
            for err in exc.errors()
        )
        return _error(f"invalid results in {path}: {problems}")
    result = assess(results)
    if args.json:
        print(result.model_dump_json(indent=2))
    elif result.referral:
        print("Referral: a red flag was reported, so no program. Please see a clinician first.")
    else:
        print(findings_text(result))
        assert result.program is not None
        print()
        print(program_text(result.program))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Measure latency, throughput, cold start, memory and the Telegram path."""
    from bot.bench import format_bench, run_bench
    from bot.settings import get_settings

    settings = get_settings()
    out_dir = Path(args.out) if args.out else settings.data_dir / "bench"
    figures = run_bench(settings, out_dir, quick=args.quick)
    print(format_bench(figures))
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    from bot.qa.service import load_encoder
    from bot.settings import get_settings
    from index.store import build_index, read_manifest, save_index

    settings = get_settings()
    directory = settings.resolved_index_dir
    if args.action == "status":
        manifest = read_manifest(directory)
        if manifest is None:
            print(f"no index in {directory}; run: calfcoach index build")
            return 1
        print(manifest.model_dump_json(indent=2))
        return 0
    encoder, notice = load_encoder(settings)
    if notice:
        print(notice)
    index = build_index(encoder)
    save_index(index, directory)
    m = index.manifest
    print(
        f"built {directory}: {m.chunks} chunks, {m.vectors} vectors, model {m.model_name} "
        f"({settings.embedding_backend}, {m.model_fingerprint})"
    )
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from bot.evaluation import dump_json, evaluate, format_report, load_eval_set
    from bot.settings import get_settings

    dirs = [Path(d) for d in args.dirs] if args.dirs else get_settings().eval_dirs
    sets = [load_eval_set(d) for d in dirs if d.is_dir()]
    missing = [str(d) for d in dirs if not d.is_dir()]
    if missing:
        print(f"calfcoach: skipping missing eval folders: {', '.join(missing)}", file=sys.stderr)
    if not sets:
        return _error("no eval folders found")
    service = _load_service()
    if args.ablation:
        from bot.ablation import run_ablation

        print(format_report(run_ablation(service, sets)))
        return 0
    rows = [(s.name, evaluate(service, [s])) for s in sets]
    if len(sets) > 1:
        rows.append(("all", evaluate(service, sets)))
    if args.json:
        print(dump_json(rows))
    else:
        print(format_report(rows))
        if args.verbose:
            for name, metrics in rows[:-1] if len(rows) > 1 else rows:
                print(f"\n{name}: misses")
                for miss in metrics.misses:
                    print(f"  {miss}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="calfcoach", description="CalfCoach: calf and ankle coaching from one expert guide."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="the Telegram bot if TELEGRAM_BOT_TOKEN is set, else chat")
    run.set_defaults(func=cmd_run)

    chat = sub.add_parser("chat", help="chat in the terminal (no Telegram token needed)")
    chat.set_defaults(func=cmd_chat)

    telegram = sub.add_parser("telegram", help="run the Telegram bot (polling or webhook)")
    telegram.set_defaults(func=cmd_telegram)

    ask = sub.add_parser("ask", help="answer one question (or a JSONL batch) from the guide")
    ask.add_argument("question", nargs="?", help='the question, or "-" to read standard input')
    ask.add_argument("--json", action="store_true", help="print one JSON object per answer")
    ask.add_argument("--batch", metavar="FILE", help='JSON lines {"q": ...}, answered in order')
    ask.set_defaults(func=cmd_ask)

    assess = sub.add_parser("assess", help="evaluate self-test results from a JSON file")
    assess.add_argument("--input", required=True, metavar="FILE", help="JSON results file")
    assess.add_argument("--json", action="store_true", help="print the result as JSON")
    assess.set_defaults(func=cmd_assess)

    bench = sub.add_parser("bench", help="benchmark the answer path (prints figures, writes JSON)")
    bench.add_argument("--out", metavar="DIR", help="where the JSON goes (default DATA_DIR/bench)")
    bench.add_argument("--quick", action="store_true", help="fewer questions (a smoke run)")
    bench.set_defaults(func=cmd_bench)

    index = sub.add_parser("index", help="build or inspect the FAISS index of the guide")
    index.add_argument("action", choices=["build", "status"])
    index.set_defaults(func=cmd_index)

    ev = sub.add_parser("eval", help="measure answer quality on the eval sets")
    ev.add_argument("dirs", nargs="*", help="eval folders (default: EVAL_DIRS)")
    ev.add_argument("--json", action="store_true", help="print the metrics as JSON")
    ev.add_argument("-v", "--verbose", action="store_true", help="list the misses")
    ev.add_argument(
        "--ablation", action="store_true", help="compare the baseline and each retrieval choice"
    )
    ev.set_defaults(func=cmd_eval)
    return parser


def _secrets(settings: Any) -> list[str]:
    """Values no log line or error may show: the token, the webhook secret and the
    database password."""
    from sqlalchemy.engine import make_url

    values = [
        s.get_secret_value()
        for s in (settings.telegram_bot_token, settings.webhook_secret)
        if s is not None
    ]
    if settings.database_url and settings.database_url != "memory":
        try:
            password = make_url(settings.database_url).password
        except Exception:  # an unparsable URL fails later with its own message
            password = None
        if password:
            values.append(str(password))
    return values


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from pydantic import ValidationError

    try:
        from bot.settings import get_settings

        settings = get_settings()
    except ValidationError as exc:
        return _error(f"invalid configuration: {_configuration_problems(exc)}")
    _configure_logging(settings.log_level, _secrets(settings))
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a clear line, never a traceback, for an end user
        logging.getLogger("calfcoach").debug("command failed", exc_info=True)
        return _error(f"{type(exc).__name__}: {exc} (set LOG_LEVEL=DEBUG for details)")


if __name__ == "__main__":
    sys.exit(main())
