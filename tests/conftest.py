"""Shared fixtures: one real encoder, one real index and one QA service per test session.

Building the index embeds the guide with the packaged MiniLM model (about 10 s), so it
happens once, in a temporary folder that the CLI subprocess tests reuse via INDEX_DIR.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.qa.service import QAService
from bot.settings import Settings
from index.embedding import Encoder
from index.retrieval import Retriever
from index.store import GuideIndex, build_index, save_index
from knowledge.facts import load_facts

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
SHARED_EVAL = REPO.parent / "shared" / "eval"
OWN_EVAL = REPO / "tests" / "eval"


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    return Encoder()


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> Path:
    directory = tmp_path_factory.mktemp("index") / "index"
    save_index(build_index(encoder), directory)
    return directory


@pytest.fixture(scope="session")
def guide_index(index_dir: Path) -> GuideIndex:
    from index.store import load_index

    return load_index(index_dir)


@pytest.fixture(scope="session")
def qa(guide_index: GuideIndex, encoder: Encoder) -> QAService:
    knowledge = load_facts()
    retriever = Retriever(guide_index, encoder, knowledge.synonyms, intents=knowledge.intents)
    return QAService(retriever, knowledge)


@pytest.fixture(scope="session")
def settings(index_dir: Path) -> Settings:
    return Settings(index_dir=index_dir, data_dir=index_dir.parent)


@pytest.fixture
def cli_env(index_dir: Path) -> Iterator[dict[str, str]]:
    """Environment for running the real ``calfcoach`` command against the session index."""
    env = dict(os.environ)
    env.update(INDEX_DIR=str(index_dir), DATA_DIR=str(index_dir.parent), LOG_LEVEL="WARNING")
    yield env
