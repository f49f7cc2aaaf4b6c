"""The index on disk: manifest, freshness, rebuild on staleness, no re-embedding when fresh."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from bot.qa.service import QAService
from bot.settings import Settings
from index.embedding import Encoder, ModelNotAvailable, TextEncoder, resolve_model_path
from index.lexical import tokenize
from index.store import load_index, load_or_build, read_manifest


class CountingEncoder:
    """Wraps the real encoder, counting how many texts it embeds."""

    def __init__(self, inner: TextEncoder) -> None:
        self.inner = inner
        self.model_name = inner.model_name
        self.fingerprint = inner.fingerprint
        self.encoded = 0

    def encode(self, texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        self.encoded += len(texts)
        return self.inner.encode(texts, batch_size=batch_size)


TEXTS = ["why are my calves weak?", "a" * 3000, "heel rolls in on single leg raises", "x"]


def test_manifest_records_what_the_index_was_built_from(index_dir: Path) -> None:
    manifest = read_manifest(index_dir)
    assert manifest is not None
    assert manifest.model_name == "all-MiniLM-L6-v2"
    assert manifest.dimension == 384
    assert len(manifest.guide_sha256) == 64
    assert manifest.chunking["max_chars"] == 700
    assert manifest.vectors > manifest.chunks > 80
    assert {p.name for p in index_dir.iterdir()} == {
        "manifest.json",
        "chunks.json",
        "vectors.faiss",
    }


def test_fresh_index_loads_without_embedding_the_guide(
    index_dir: Path, query_encoder: TextEncoder
) -> None:
    counting = CountingEncoder(query_encoder)
    index, notice = load_or_build(index_dir, counting)
    assert notice is None
    assert counting.encoded == 0
    assert index.vectors.ntotal == len(index.views)


@pytest.mark.parametrize("damage", ["stale_guide", "missing", "corrupt"])
def test_stale_missing_or_corrupt_index_is_rebuilt_with_a_notice(
    tmp_path: Path, index_dir: Path, query_encoder: TextEncoder, damage: str
) -> None:
    directory = tmp_path / "index"
    shutil.copytree(index_dir, directory)
    if damage == "stale_guide":
        manifest = json.loads((directory / "manifest.json").read_text())
        manifest["guide_sha256"] = "0" * 64
        (directory / "manifest.json").write_text(json.dumps(manifest))
    elif damage == "missing":
        shutil.rmtree(directory)
    else:
        (directory / "vectors.faiss").write_bytes(b"not a faiss index")
    counting = CountingEncoder(query_encoder)
    index, notice = load_or_build(directory, counting)
    expected = {"stale_guide": "guide changed", "missing": "no index", "corrupt": "unreadable"}
    assert notice is not None and expected[damage] in notice
    assert counting.encoded == len(index.views)
    assert load_index(directory).manifest.guide_sha256 != "0" * 64


def test_model_name_must_resolve_offline(tmp_path: Path) -> None:
    assert (resolve_model_path("all-MiniLM-L6-v2") / "config.json").exists()
    assert resolve_model_path(str(tmp_path)) == tmp_path
    with pytest.raises(ModelNotAvailable, match="not available offline"):
        resolve_model_path("sentence-transformers/some-hub-model")


def test_onnx_encoder_gives_the_same_vectors_as_sentence_transformers(
    settings: Settings, qa: QAService, encoder: Encoder
) -> None:
    from index.onnx_encoder import OnnxEncoder, onnx_dir

    # The float export the session's int8 model was quantised from.
    onnx = OnnxEncoder(onnx_dir(settings.resolved_index_dir.parent / "models", encoder.fingerprint))
    assert (onnx.model_name, onnx.fingerprint) == (encoder.model_name, encoder.fingerprint)
    cosine = (onnx.encode(TEXTS) * encoder.encode(TEXTS)).sum(axis=1)
    assert cosine.min() > 0.9999


def test_int8_encoder_is_its_own_model_and_embeds_each_text_alone(
    index_dir: Path, tmp_path: Path, query_encoder: TextEncoder, encoder: Encoder
) -> None:
    from index.onnx_encoder import OnnxEncoder

    assert isinstance(query_encoder, OnnxEncoder) and query_encoder.rowwise
    assert query_encoder.fingerprint == f"{encoder.fingerprint}-int8"
    # Close to the float model's vectors, but not the same: an index embedded by one is
    # stale for the other and gets rebuilt rather than searched with mismatched vectors.
    cosine = (query_encoder.encode(TEXTS) * encoder.encode(TEXTS)).sum(axis=1)
    assert cosine.min() > 0.85 and cosine.max() < 0.9999
    directory = tmp_path / "index"
    shutil.copytree(index_dir, directory)
    _, notice = load_or_build(directory, CountingEncoder(encoder))
    assert notice is not None and "model changed" in notice
    # A text's vector does not depend on the texts embedded with it (dynamic quantisation
    # would pick other activation scales for a padded batch).
    alone = np.stack([query_encoder.encode([t])[0] for t in TEXTS])
    together = query_encoder.encode(TEXTS[::-1])[::-1]
    assert np.array_equal(alone, together)


def test_a_deployed_int8_model_alone_starts_without_torch(
    settings: Settings, qa: QAService, tmp_path: Path, encoder: Encoder
) -> None:
    from index.onnx_encoder import onnx_dir, prepare_onnx

    models = settings.resolved_index_dir.parent / "models"
    int8 = onnx_dir(models, encoder.fingerprint, int8=True)
    shutil.copytree(int8, onnx_dir(tmp_path, encoder.fingerprint, int8=True))
    # No float export beside it: nothing may be exported again (that would import torch).
    found, notices = prepare_onnx(
        encoder.model_name, Path("/nonexistent"), encoder.fingerprint, tmp_path, int8=True
    )
    assert notices == [] and found == onnx_dir(tmp_path, encoder.fingerprint, int8=True)


def test_micro_batcher_shares_model_calls_between_concurrent_requests(encoder: Encoder) -> None:
    import threading

    from index.batching import MicroBatcher

    calls: list[int] = []
    gate, entered = threading.Event(), threading.Event()

    def slow_encode(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        entered.set()
        gate.wait(5)  # hold the first call so the others queue up behind it
        return encoder.encode(texts)

    batcher = MicroBatcher(slow_encode, max_batch=64)
    first = batcher.submit("first question")
    assert entered.wait(5)
    futures = [batcher.submit(f"question {n}") for n in range(20)]
    gate.set()
    vectors = [f.result(10) for f in [first, *futures]]
    assert calls == [1, 20]  # 21 requests, 2 model calls
    assert np.allclose(vectors[5], encoder.encode(["question 4"])[0], atol=1e-5)
    batcher.close()


def test_a_failed_write_leaves_the_previous_directory_whole(tmp_path: Path) -> None:
    from index.files import atomic_directory

    target = tmp_path / "index"
    with atomic_directory(target) as scratch:
        (scratch / "manifest.json").write_text("v1")
    with pytest.raises(RuntimeError), atomic_directory(target) as scratch:
        (scratch / "manifest.json").write_text("half of v2")
        raise RuntimeError("killed mid-write")
    assert (target / "manifest.json").read_text() == "v1"
    assert [p.name for p in tmp_path.iterdir()] == ["index"]  # no scratch left behind


def test_fast_scoring_gives_the_libraries_own_numbers(qa: QAService) -> None:
    """The BM25 table and the inner product over the flat index replace bm25s's and
    FAISS's own search for speed; they must give the same scores."""
    retriever = qa.retriever
    questions = [
        "why are my calves weak",
        "how many sets of seated calf raise should i do",
        "single-leg single-leg heel raise test",  # a repeated word counts twice
        "zzzz qqqq",  # no word of the guide
    ]
    for question in questions:
        tokens = tokenize(question)
        expected = (
            np.asarray(retriever.lexical._bm25.get_scores(tokens), dtype=np.float32)
            if tokens
            else np.zeros(len(retriever.index.chunks), dtype=np.float32)
        )
        np.testing.assert_allclose(retriever.lexical.scores(question), expected, atol=1e-5)
        vector = retriever.encode([question])[0]
        n = retriever.index.vectors.ntotal
        distances, ids = retriever.index.vectors.search(vector.reshape(1, -1), n)
        sims = retriever._view_similarities(vector)
        np.testing.assert_allclose(sims[ids[0]], distances[0], atol=1e-5)
