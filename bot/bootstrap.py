"""The composition root: the one place that builds CalfCoach from its settings.

settings → knowledge → encoder → index → QA → engine → store → conversations; channels
(Telegram, the terminal) are built from the :class:`App` by their adapters. The CLI, the
bot, the benchmark and the tests all call :func:`bootstrap` (or :func:`build_qa` when only
answers are needed), so what is tested and measured is what runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.commands import CommandTable
from bot.conversation import Conversations
from bot.engine import Engine
from bot.qa.service import QAService
from bot.settings import Settings, get_settings
from bot.storage.base import Store
from index.embedding import TextEncoder
from knowledge.models import Knowledge
from knowledge.texts import Phrases, load_phrases


@dataclass
class App:
    """Everything a channel needs to serve users, built once per process."""

    settings: Settings
    knowledge: Knowledge
    phrases: Phrases
    qa: QAService
    engine: Engine
    store: Store
    conversations: Conversations
    notices: list[str] = field(default_factory=list)


def load_encoder(settings: Settings) -> tuple[TextEncoder, str | None]:
    """The encoder ``EMBEDDING_BACKEND`` names; it embeds the index and the questions alike.

    The ONNX backends use an export of the configured model kept beside the index
    (``models/`` next to ``INDEX_DIR``, so an image can ship it with the index), made on
    first use (that one time imports torch). Returns the encoder and a notice saying what
    had to be made, if anything.
    """
    from index.embedding import Encoder

    encoder = Encoder(settings.embedding_model)
    if settings.embedding_backend == "torch":
        return encoder, None
    from index.onnx_encoder import OnnxEncoder, prepare_onnx

    int8 = settings.embedding_backend == "onnx-int8"
    directory, notices = prepare_onnx(
        encoder.model_name,
        encoder.path,
        encoder.fingerprint,
        settings.resolved_index_dir.parent / "models",
        int8=int8,
    )
    onnx = OnnxEncoder(directory, threads=settings.encoder_threads)
    return onnx, "; ".join(notices) or None


def build_qa(settings: Settings) -> tuple[QAService, str | None]:
    """Load the knowledge, the encoder, the index and the triage examples (rebuilding a
    stale one) into a QA service. With an ONNX backend (the default) torch is imported
    only when the export or the index must be (re)built. Returns the service and a notice
    of what was rebuilt."""
    from threadpoolctl import threadpool_limits

    from bot.triage_model import Triager, load_or_build_neighbours
    from index.retrieval import Retriever
    from index.store import load_or_build
    from knowledge.facts import load_facts

    # Every product at run time is one small matrix times one vector (1,224 views, a few
    # hundred triage examples), made by several engine workers at once: a BLAS call
    # that wakes a second thread for it waits longer than it computes.
    threadpool_limits(1, user_api="blas")
    knowledge = load_facts()
    encoder, prepared = load_encoder(settings)
    index, rebuilt = load_or_build(settings.resolved_index_dir, encoder)
    retriever = Retriever(index, encoder, knowledge.synonyms, intents=knowledge.intents)
    neighbours, examples = load_or_build_neighbours(
        settings.resolved_index_dir.parent / "triage",
        retriever.encode,
        encoder.fingerprint,
        knowledge.red_flags,
    )
    notice = "; ".join(n for n in (prepared, rebuilt, examples) if n) or None
    service = QAService(
        retriever,
        knowledge,
        max_chars=settings.answer_max_chars,
        cache_size=settings.answer_cache_size,
        phrases=load_phrases(),
        triager=Triager(neighbours, knowledge.red_flags),
    )
    return service, notice


def bootstrap(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    qa: QAService | None = None,
    charts: bool = True,
) -> App:
    """Build the application. Tests pass a ``store`` (memory) or an already built ``qa``
    to share one index across a session; everything else comes from ``settings``."""
    settings = settings or get_settings()
    notices: list[str] = []
    if qa is None:
        qa, notice = build_qa(settings)
        if notice:
            notices.append(notice)
    if store is None:
        from bot.storage.factory import create_store

        store = create_store(settings)
    phrases = load_phrases()
    commands = CommandTable()
    engine = Engine(qa, charts=charts, commands=commands, phrases=phrases)
    conversations = Conversations(
        engine, store, retention_hours=settings.processed_updates_retention_hours
    )
    return App(
        settings=settings,
        knowledge=qa.knowledge,
        phrases=phrases,
        qa=qa,
        engine=engine,
        store=store,
        conversations=conversations,
        notices=notices,
    )
