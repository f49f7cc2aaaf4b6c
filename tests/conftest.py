"""Shared fixtures: one real encoder, one real index and one QA service per test session.

Exporting the packaged MiniLM model to ONNX and embedding the guide takes about 10 s, so
it happens once, in a temporary DATA_DIR that the CLI subprocess tests reuse.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.bootstrap import App, bootstrap, build_qa
from bot.qa.service import QAService
from bot.settings import Settings
from bot.storage.base import Store
from bot.storage.memory import MemoryStore
from index.embedding import Encoder, TextEncoder
from index.store import GuideIndex

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
SHARED_EVAL = REPO.parent / "shared" / "eval"
OWN_EVAL = REPO / "tests" / "eval"


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    """sentence-transformers itself: the reference the ONNX encoders are checked against."""
    return Encoder()


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data = tmp_path_factory.mktemp("data")
    # The shipped encoder whatever the environment says, so the floors test what ships.
    return Settings(
        data_dir=data, index_dir=data / "index", answer_cache_size=0, embedding_backend="onnx-int8"
    )


@pytest.fixture(scope="session")
def qa(settings: Settings) -> QAService:
    """The service exactly as the bot builds it: the default encoder (EMBEDDING_BACKEND),
    its ONNX export and the index it embeds, all made here once for the whole session."""
    service, _ = build_qa(settings)
    return service


@pytest.fixture(scope="session")
def query_encoder(qa: QAService) -> TextEncoder:
    return qa.retriever.encoder


@pytest.fixture(scope="session")
def index_dir(qa: QAService, settings: Settings) -> Path:
    return settings.resolved_index_dir


@pytest.fixture(scope="session")
def guide_index(qa: QAService) -> GuideIndex:
    return qa.retriever.index


@pytest.fixture
def cli_env(index_dir: Path) -> Iterator[dict[str, str]]:
    """Environment for running the real ``calfcoach`` command against the session index."""
    env = dict(os.environ)
    env.update(INDEX_DIR=str(index_dir), DATA_DIR=str(index_dir.parent), LOG_LEVEL="WARNING")
    yield env


@pytest.fixture
def make_app(settings: Settings, qa: QAService) -> Callable[..., App]:
    """The application as the bot composes it, over the session's QA and a given store."""

    def make(store: Store | None = None, **kwargs: object) -> App:
        return bootstrap(settings, store=store or MemoryStore(), qa=qa, **kwargs)  # type: ignore[arg-type]

    return make
