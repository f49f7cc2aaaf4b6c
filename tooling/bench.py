"""``calfcoach bench``: the answer path as users feel it, and a naive baseline beside it.

Prints one table and writes the figures as JSON (``var/bench/``) for comparison across
commits. Nothing here is asserted: targets live in the README, not in tests.

1. single question, in-process, through the conversation service exactly as a channel
   calls it (store session -> engine in a worker thread -> validate -> triage -> encode ->
   hybrid search -> compose), answer cache off, every question distinct;
2. 64 users' questions in flight on the same path (encodes share micro-batches);
3. the naive baseline in the same run: ``SentenceTransformer.encode`` of each question one
   at a time plus a FAISS search over the passages, alone and with 64 threads in flight;
4. cold start: a fresh process (``calfcoach ask``) to its first answer, index on disk;
5. peak resident memory of that process, of the Telegram bot after the load below, and
   of this one;
6. end to end through the Telegram adapter and the local Bot API emulator: 50 users each
   asking questions one after another; updates/s and p99 from delivery to reply;
7. the report (/report, and a coach's notification): building it from stored results and
   rendering the PNG, and the PDF, for a long report (4 findings, 3 sessions, a previous
   test) and a short one;
8. what triage adds to an answer (:mod:`tooling.triage_timing`): the rules and the example
   vote on the question's vector (computed once, retrieval needs it anyway), and the rules
   over the message joined to the one before it.

The target column holds the open issues' targets: an answer p50 of at most 3 ms and
triage adding at most 0.5 ms (p50), Telegram end to end at least 200 updates/s flat out
and p99 at most 50 ms at 100/s offered.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bot.bootstrap import App, bootstrap, build_qa
from bot.conversation import use_engine_workers
from bot.engine.messages import Incoming
from bot.qa.service import QAService
from bot.settings import Settings
from bot.storage.memory import MemoryStore
from tooling.evaluation import load_eval_set


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else float("nan")


def _summary(latencies_s: list[float], elapsed_s: float | None = None) -> dict[str, float]:
    ms = [v * 1000 for v in latencies_s]
    out = {
        "n": len(ms),
        "p50_ms": _pct(ms, 50),
        "p99_ms": _pct(ms, 99),
        "mean_ms": statistics.fmean(ms),
    }
    if elapsed_s:
        out["per_second"] = len(ms) / elapsed_s
    return out


def _questions(settings: Settings) -> list[str]:
    texts: list[str] = []
    for directory in settings.eval_dirs:
        if directory.is_dir():
            data = load_eval_set(directory)
            texts += [i.q for i in data.questions + data.not_red_flags + data.out_of_scope]
    return list(dict.fromkeys(texts))


def _single(answer: Callable[[str], Any], questions: list[str], warmup: int = 10) -> list[float]:
    for q in questions[:warmup]:
        answer(q)
    latencies = []
    for q in questions:
        start = time.perf_counter()
        answer(q)
        latencies.append(time.perf_counter() - start)
    return latencies


async def _in_flight(
    answer: Callable[[str], Awaitable[Any]], questions: list[str], concurrency: int
) -> tuple[list[float], float]:
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(q: str) -> None:
        async with gate:
            start = time.perf_counter()
            await answer(q)
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(one(q) for q in questions))
    return latencies, time.perf_counter() - start


def _cached(qa: QAService, size: int = 2048) -> QAService:
    return QAService(
        qa.retriever,
        qa.knowledge,
        max_chars=qa.max_chars,
        thresholds=qa.thresholds,
        cache_size=size,
    )


class _Users:
    """Questions asked through ``Conversations.handle`` as a channel asks them, each
    from a new user so no conversation state or cache carries over."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.count = 0
        self.loop = asyncio.new_event_loop()
        use_engine_workers(self.loop)

    def incoming(self, question: str) -> Incoming:
        self.count += 1
        return Incoming(channel="bench", user_id=f"u{self.count}", text=question)

    def ask(self, question: str) -> Any:
        return self.loop.run_until_complete(self.app.conversations.handle(self.incoming(question)))

    async def ask_async(self, question: str) -> Any:
        return await self.app.conversations.handle(self.incoming(question))


def naive_baseline(qa: QAService, questions: list[str], concurrency: int) -> dict[str, Any]:
    """SentenceTransformer.encode per question + FAISS search over the passage vectors."""
    import faiss
    from sentence_transformers import SentenceTransformer

    index = qa.retriever.index
    model = SentenceTransformer(_model_path(qa), device="cpu")
    passages = [c.embedding_text for c in index.chunks]
    flat = faiss.IndexFlatIP(index.vectors.d)
    flat.add(model.encode(passages, normalize_embeddings=True, convert_to_numpy=True))

    def answer(q: str) -> Any:
        vector = model.encode(
            [q], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return flat.search(vector, 3)

    single = _single(answer, questions)
    many = questions * max(1, 640 // len(questions) + 1)
    many = many[:640]
    latencies: list[float] = []

    def timed(q: str) -> None:
        start = time.perf_counter()
        answer(q)
        latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(timed, many))
    return {
        "single": _summary(single),
        "in_flight": _summary(latencies, time.perf_counter() - start),
    }


def _model_path(qa: QAService) -> str:
    from index.embedding import resolve_model_path

    return str(resolve_model_path(qa.retriever.index.manifest.model_name))


# Runs ``calfcoach ask`` and reports the process's own peak RSS. Not ``ru_maxrss`` from
# wait4: Linux carries the parent's high-water mark across fork and exec into it, so a
# child of this (torch-laden) bench process would report the bench's memory, not its own.
_COLD_START_PROBE = """
import sys
from bot.cli import main
code = main(["ask", "--json", sys.argv[1]])
from tooling.bench import peak_rss_mb
print("peak_rss_mb", peak_rss_mb("self"), file=sys.stderr)
sys.exit(code)
"""


def cold_start(settings: Settings, question: str) -> dict[str, float]:
    """Spawn ``calfcoach ask`` and time it to its answer; its peak RSS (VmHWM) too."""
    env = dict(os.environ)
    env.update(INDEX_DIR=str(settings.resolved_index_dir), LOG_LEVEL="WARNING")
    start = time.perf_counter()
    process = subprocess.run(
        [sys.executable, "-c", _COLD_START_PROBE, question],
        env=env,
        capture_output=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if process.returncode != 0 or b'"answer"' not in process.stdout:
        raise RuntimeError(f"cold-start process failed with exit code {process.returncode}")
    peak = [
        line.split()[1] for line in process.stderr.decode().splitlines() if "peak_rss_mb" in line
    ]
    return {"seconds": elapsed, "peak_rss_mb": float(peak[0]) if peak else float("nan")}


async def telegram_end_to_end(
    settings: Settings,
    questions: list[str],
    users: int = 50,
    rate: float = 100.0,
    seconds: float = 10.0,
    closed_loop_per_user: int = 10,
) -> dict[str, Any]:
    """The real ``calfcoach telegram`` process (SQLite store) against the emulator here.

    The bot runs in its own process, as in production; this process plays Telegram and
    the users. Two loads: *open loop*, ``users`` users together sending ``rate`` updates
    a second for ``seconds`` (how users behave: they read, then type), and *closed
    loop*, every user sending its next question the moment the last answer arrives (the
    most the bot can take).
    """
    from tooling.emulator import BotApiEmulator, Call

    emulator = BotApiEmulator()
    await emulator.start()
    directory = tempfile.mkdtemp(prefix="calfcoach-bench-")
    env = dict(os.environ)
    env.update(
        TELEGRAM_BOT_TOKEN=emulator.token,
        TELEGRAM_API_URL=emulator.url,
        TELEGRAM_MAX_RATE="100000",  # the emulator is not Telegram: no flood limit to respect
        USER_RATE_BURST="0",  # 50 synthetic users each sending several a second: no per-user limit
        DATABASE_URL=f"sqlite:///{directory}/bench.db",
        INDEX_DIR=str(settings.resolved_index_dir),
        LOG_LEVEL="WARNING",
    )
    env.pop("WEBHOOK_URL", None)
    bot = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "telegram",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    chats = [1_000 + u for u in range(users)]
    pending: dict[int, list[float]] = {chat: [] for chat in chats}
    replies: dict[int, asyncio.Queue[float]] = {chat: asyncio.Queue() for chat in chats}
    latencies: list[float] = []

    def on_call(call: Call) -> None:
        if call.method == "sendMessage" and call.chat_id in replies:
            now = time.monotonic()
            if pending[call.chat_id]:
                latencies.append(now - pending[call.chat_id].pop(0))
            replies[call.chat_id].put_nowait(now)

    emulator.listeners.append(on_call)

    def send(chat: int, question: str) -> None:
        update_id = emulator.message(chat, question)
        pending[chat].append(emulator.pushed_at[update_id])

    async def closed_user(chat: int, offset: int, count: int) -> None:
        for n in range(count):
            send(chat, questions[(offset + n) % len(questions)])
            await asyncio.wait_for(replies[chat].get(), 60)

    try:
        await emulator.wait_for(lambda c: c.method == "setMyCommands", timeout=120)
        await asyncio.gather(*(closed_user(c, 100 + n, 2) for n, c in enumerate(chats)))  # warm-up
        # Open loop: one update every 1/rate seconds, round-robin over the users.
        latencies.clear()
        total = int(rate * seconds)
        start = time.perf_counter()
        for n in range(total):
            send(chats[n % users], questions[n % len(questions)])
            await asyncio.sleep(max(0.0, start + (n + 1) / rate - time.perf_counter()))
        while len(latencies) < total and time.perf_counter() - start < seconds + 30:
            await asyncio.sleep(0.01)
        open_elapsed = time.perf_counter() - start
        open_loop = _summary(latencies, open_elapsed)
        for queue in replies.values():
            while not queue.empty():
                queue.get_nowait()
        # Closed loop.
        latencies.clear()
        start = time.perf_counter()
        await asyncio.gather(
            *(closed_user(c, n * 7, closed_loop_per_user) for n, c in enumerate(chats))
        )
        closed_loop = _summary(latencies, time.perf_counter() - start)
        bot_peak_rss_mb = peak_rss_mb(bot.pid)
    finally:
        bot.terminate()
        await bot.wait()
        await emulator.stop()
    return {
        "users": users,
        "store": "sqlite",
        "open_loop": {"offered_per_second": rate, **open_loop},
        "closed_loop": closed_loop,
        "bot_peak_rss_mb": bot_peak_rss_mb,
    }


def peak_rss_mb(pid: int | str) -> float:
    """A live process's peak resident memory (VmHWM), from /proc (``"self"`` for this
    one); NaN where there is none."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


REPORT_CASES = {
    # 4 findings, 3 sessions and an earlier test: about the longest report there is.
    "long": [
        {
            "straight_knee_reps": {"left": 18, "right": 24},
            "bent_knee_reps": {"left": 9, "right": 16},
            "balance_seconds": {"left": 10, "right": 30},
            "heel_valgus": {"left": True, "right": False},
            "history": ["ankle_sprain", "achilles_pain"],
        },
        {
            "straight_knee_reps": {"left": 20, "right": 25},
            "bent_knee_reps": {"left": 12, "right": 16},
            "balance_seconds": {"left": 15, "right": 30},
            "heel_valgus": {"left": True, "right": False},
            "history": ["ankle_sprain", "achilles_pain"],
        },
    ],
    # No finding, two sessions, no balance test: the shortest.
    "short": [
        {
            "straight_knee_reps": {"left": 28, "right": 28},
            "bent_knee_reps": {"left": 25, "right": 24},
        }
    ],
}


def report_timing(runs: int) -> dict[str, Any]:
    """How long a report takes: content from stored results plus the PNG (what /report
    and a coach's notification wait for), and the PDF (the "PDF" button), per case."""
    from datetime import timedelta

    from bot.assessment import assess
    from bot.assessment.models import AssessmentInput
    from bot.report import build_report, render_pdf, render_png
    from bot.storage.base import StoredResult
    from knowledge.facts import load_facts
    from knowledge.texts import load_coach_text

    knowledge, words = load_facts(), load_coach_text().report
    figures: dict[str, Any] = {}
    for name, inputs in REPORT_CASES.items():
        results = []
        for n, raw in enumerate(inputs):
            data = AssessmentInput.model_validate(raw)
            taken = datetime(2026, 10, 1, tzinfo=UTC) + timedelta(weeks=8 * n)
            results.append(StoredResult(taken, data, assess(data, knowledge)))
        png_s, pdf_s, size = [], [], 0
        for run in range(runs + 1):  # the first run imports matplotlib and loads fonts
            start = time.perf_counter()
            content = build_report(results, "Alice", knowledge)
            assert content is not None
            png = render_png(content, words)
            middle = time.perf_counter()
            render_pdf(content, words)
            end = time.perf_counter()
            if run:
                png_s.append(middle - start)
                pdf_s.append(end - middle)
                size = len(png)
        figures[name] = {"png": _summary(png_s), "pdf": _summary(pdf_s), "png_kb": size / 1024}
    return figures


def triage_cost(qa: QAService, questions: list[str]) -> dict[str, float]:
    """Triage's own milliseconds per message, on the bench's questions."""
    from tooling.triage_timing import measure

    return measure(qa, questions, repeat=3)


def run_bench(settings: Settings, out_dir: Path, *, quick: bool = False) -> dict[str, Any]:
    """Run every measurement and return the figures (also written as JSON)."""
    load_start = time.perf_counter()
    qa, _ = build_qa(settings.model_copy(update={"answer_cache_size": 0}))
    load_seconds = time.perf_counter() - load_start
    questions = _questions(settings)
    if quick:
        questions = questions[:40]
    users = _Users(bootstrap(settings, store=MemoryStore(), qa=qa, charts=False))
    single = _summary(_single(users.ask, questions))
    many = (questions * (640 // len(questions) + 1))[:640]
    batches_before = qa.retriever.batcher.batches
    latencies, elapsed = users.loop.run_until_complete(_in_flight(users.ask_async, many, 64))
    users.loop.close()
    in_flight = _summary(latencies, elapsed)
    in_flight["mean_batch"] = len(many) / max(1, qa.retriever.batcher.batches - batches_before)
    cached = _summary(_single(_cached(qa).answer, questions[:20] * 5, warmup=20))
    cold = cold_start(settings, "why are my calves weak?")
    e2e = asyncio.run(
        telegram_end_to_end(
            settings, questions, seconds=3 if quick else 10, closed_loop_per_user=4 if quick else 10
        )
    )
    naive = naive_baseline(qa, questions, 64)
    triage = triage_cost(qa, questions[:100] if quick else questions)
    report = report_timing(3 if quick else 15)
    figures: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "questions": len(questions),
        "load_seconds_in_process": load_seconds,
        "single": single,
        "single_cached": cached,
        "in_flight_64": in_flight,
        "naive": naive,
        "speedup_single_p50": naive["single"]["p50_ms"] / single["p50_ms"],
        "speedup_in_flight": in_flight["per_second"] / naive["in_flight"]["per_second"],
        "cold_start": cold,
        "bench_process_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "telegram_e2e": e2e,
        "report": report,
        "triage": triage,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"bench-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    path.write_text(json.dumps(figures, indent=2))
    figures["json_path"] = str(path)
    return figures


def format_bench(f: dict[str, Any]) -> str:
    s, n, c = f["single"], f["naive"], f["in_flight_64"]
    e = f["telegram_e2e"]
    o, c2 = e["open_loop"], e["closed_loop"]
    rows = [
        (
            "single question p50 / p99",
            f"{s['p50_ms']:.2f} / {s['p99_ms']:.2f} ms",
            f"{n['single']['p50_ms']:.2f} / {n['single']['p99_ms']:.2f} ms",
            f"{f['speedup_single_p50']:.1f}x",
            "p50 <= 3 ms",
        ),
        (
            "64 in flight: answers/s",
            f"{c['per_second']:.0f}/s (mean batch {c['mean_batch']:.1f})",
            f"{n['in_flight']['per_second']:.0f}/s",
            f"{f['speedup_in_flight']:.1f}x",
            ">= 150/s",
        ),
        (
            "64 in flight: p99",
            f"{c['p99_ms']:.1f} ms",
            f"{n['in_flight']['p99_ms']:.1f} ms",
            "",
            "",
        ),
        ("repeated question (cache) p50", f"{f['single_cached']['p50_ms']:.3f} ms", "", "", ""),
        ("cold start to first answer", f"{f['cold_start']['seconds']:.2f} s", "", "", "<= 6 s"),
        (
            "peak RSS, `calfcoach ask` process",
            f"{f['cold_start']['peak_rss_mb']:.0f} MB",
            "",
            "",
            "<= 600 MB",
        ),
        (
            "peak RSS, Telegram bot after the e2e load",
            f"{e['bot_peak_rss_mb']:.0f} MB",
            "",
            "",
            "<= 600 MB",
        ),
        (
            "peak RSS, this bench process",
            f"{f['bench_process_peak_rss_mb']:.0f} MB",
            "(incl. torch baseline)",
            "",
            "",
        ),
        (
            f"Telegram e2e, {e['users']} users sending {o['offered_per_second']:.0f}/s: served",
            f"{o['per_second']:.0f}/s",
            "",
            "",
            ">= 100/s",
        ),
        (
            "  ... delivery to reply p50 / p99",
            f"{o['p50_ms']:.1f} / {o['p99_ms']:.1f} ms",
            "",
            "",
            "p99 <= 50 ms",
        ),
        (
            f"Telegram e2e, {e['users']} users flat out: updates/s",
            f"{c2['per_second']:.0f}/s",
            "",
            "",
            ">= 200/s",
        ),
        (
            "  ... delivery to reply p50 / p99",
            f"{c2['p50_ms']:.1f} / {c2['p99_ms']:.1f} ms",
            "",
            "",
            "",
        ),
    ]
    t = f["triage"]
    rows.append(
        (
            "triage added per answer p50 / p90",
            f"{t['added_per_answer_p50']:.2f} / {t['added_per_answer_p90']:.2f} ms",
            f"(re-encoding two turns: {t['old_reencode_p50']:.2f} ms)",
            "",
            "p50 <= 0.5 ms",
        )
    )
    for case, r in f["report"].items():
        rows.append(
            (
                f"report ({case}): content + PNG p50 / p99",
                f"{r['png']['p50_ms']:.0f} / {r['png']['p99_ms']:.0f} ms ({r['png_kb']:.0f} KB)",
                "",
                "",
                "unnoticed: < 1 s",
            )
        )
        rows.append(
            (
                f"report ({case}): PDF p50 / p99",
                f"{r['pdf']['p50_ms']:.0f} / {r['pdf']['p99_ms']:.0f} ms",
                "",
                "",
                "",
            )
        )
    header = ("measure", "CalfCoach", "naive baseline", "ratio", "target")
    widths = [max(len(str(r[i])) for r in [*rows, header]) for i in range(5)]
    line = lambda r: "  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True))  # noqa: E731
    out = [line(header), "  ".join("-" * w for w in widths), *map(line, rows)]
    out.append(f"\n{f['questions']} distinct questions; figures written to {f['json_path']}")
    return "\n".join(out)
