"""The FAISS index on disk, with a manifest that says what it was built from.

One flat inner-product index holds several *views* of every chunk: the chunk with its
section path, each of its sentences, and the client questions written for it
(``knowledge/data/passage_keys.yaml``). The corpus is small (hundreds of vectors), so an
exact flat search costs microseconds and needs no tuning.

The manifest records the model, the guide and data hashes and the chunking parameters;
:func:`load_or_build` rebuilds when any of them changed and never re-embeds otherwise.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import faiss
from pydantic import BaseModel

from index.chunking import Chunk, ChunkingParams, chunk_guide
from index.embedding import TextEncoder
from index.files import atomic_directory, checksum_problem, checksums
from knowledge.facts import data_sha256, load_facts
from knowledge.guide import Guide, load_guide, normalize
from knowledge.models import Knowledge

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3  # 3: the manifest holds the files' checksums
INDEX_FILES = ["vectors.faiss", "chunks.json"]
ViewKind = Literal["passage", "sentence", "key", "faq"]


class IndexError_(RuntimeError):
    """The index on disk is missing or unreadable."""


class Manifest(BaseModel):
    """What an index was built from; compared field by field to detect staleness."""

    schema_version: int
    model_name: str
    model_fingerprint: str
    dimension: int
    guide_sha256: str
    data_sha256: str
    chunking: dict[str, int]
    built_at: datetime
    chunks: int
    vectors: int
    faiss_version: str
    # SHA-256 of each index file, checked before loading: a flipped byte in the vectors
    # or an edited chunk would otherwise be served silently.
    files: dict[str, str] = {}
    # SHA-256 of the encoder's model files (ONNX exports), for the record: an index is
    # only valid with the exact model that embedded it.
    model_files: dict[str, str] = {}

    def identity(self) -> dict[str, object]:
        """The fields that must match for the index to be fresh."""
        return {
            "schema_version": self.schema_version,
            "model_name": self.model_name,
            "model_fingerprint": self.model_fingerprint,
            "guide_sha256": self.guide_sha256,
            "data_sha256": self.data_sha256,
            "chunking": self.chunking,
        }


@dataclass(frozen=True)
class View:
    """One row of the FAISS index: which chunk it belongs to and what text it embeds."""

    chunk: int  # -1 for views that belong to no chunk (FAQ questions)
    kind: ViewKind
    text: str
    sentence: int | None = None
    ref: str | None = None  # the FAQ id of a "faq" view


@dataclass
class GuideIndex:
    """Everything retrieval needs, loaded from or written to one directory."""

    manifest: Manifest
    chunks: list[Chunk]
    views: list[View]
    keys: dict[int, list[str]]
    vectors: faiss.Index


def expected_identity(
    encoder: TextEncoder, guide: Guide, params: ChunkingParams
) -> dict[str, object]:
    return {
        "schema_version": SCHEMA_VERSION,
        "model_name": encoder.model_name,
        "model_fingerprint": encoder.fingerprint,
        "guide_sha256": guide.sha256,
        "data_sha256": data_sha256(),
        "chunking": params.as_dict(),
    }


def assign_keys(chunks: list[Chunk], knowledge: Knowledge) -> dict[int, list[str]]:
    """Attach each passage-key group to exactly one chunk (by section, then anchor)."""
    keys: dict[int, list[str]] = {}
    for group in knowledge.passage_keys:
        candidates = [i for i, c in enumerate(chunks) if c.section == group.section]
        if group.anchor:
            anchor = normalize(group.anchor)
            candidates = [i for i in candidates if anchor in normalize(chunks[i].text)]
        if len(candidates) != 1:
            raise ValueError(
                f"passage key group for {group.section!r} (anchor {group.anchor!r}) matches "
                f"{len(candidates)} chunks; give an anchor that picks exactly one"
            )
        keys.setdefault(candidates[0], []).extend(group.questions)
    return keys


def build_index(
    encoder: TextEncoder,
    guide: Guide | None = None,
    knowledge: Knowledge | None = None,
    params: ChunkingParams | None = None,
) -> GuideIndex:
    """Chunk the guide, embed every view and return the in-memory index."""
    guide = guide or load_guide()
    knowledge = knowledge or load_facts()
    params = params or ChunkingParams()
    chunks = chunk_guide(guide, params)
    keys = assign_keys(chunks, knowledge)
    views: list[View] = []
    for i, chunk in enumerate(chunks):
        views.append(View(chunk=i, kind="passage", text=chunk.embedding_text))
        if len(chunk.sentences) > 1:
            for s, sentence in enumerate(chunk.sentences):
                views.append(View(chunk=i, kind="sentence", text=sentence, sentence=s))
        for question in keys.get(i, []):
            views.append(View(chunk=i, kind="key", text=question))
    for entry in knowledge.faq:
        views.append(View(chunk=-1, kind="faq", text=entry.question, ref=entry.id))
    vectors = encoder.encode([v.text for v in views])
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    identity = expected_identity(encoder, guide, params)
    manifest = Manifest(
        **identity,
        model_files=dict(getattr(encoder, "checksums", None) or {}),
        dimension=int(vectors.shape[1]),
        built_at=datetime.now(UTC),
        chunks=len(chunks),
        vectors=len(views),
        faiss_version=faiss.__version__,
    )
    return GuideIndex(manifest=manifest, chunks=chunks, views=views, keys=keys, vectors=flat)


def save_index(index: GuideIndex, directory: Path) -> None:
    """Write the index atomically: a half-written directory never replaces a good one."""
    with atomic_directory(directory) as tmp:
        faiss.write_index(index.vectors, str(tmp / "vectors.faiss"))
        payload = {
            "chunks": [asdict(c) for c in index.chunks],
            "views": [asdict(v) for v in index.views],
            "keys": {str(k): v for k, v in index.keys.items()},
        }
        (tmp / "chunks.json").write_text(json.dumps(payload, ensure_ascii=False), "utf-8")
        index.manifest.files = checksums(tmp, INDEX_FILES)
        (tmp / "manifest.json").write_text(index.manifest.model_dump_json(indent=2), "utf-8")


def read_manifest(directory: Path) -> Manifest | None:
    path = directory / "manifest.json"
    if not path.exists():
        return None
    try:
        return Manifest.model_validate_json(path.read_text("utf-8"))
    except ValueError:
        return None


def load_index(directory: Path) -> GuideIndex:
    """Read an index directory; raises :class:`IndexError_` when it is missing or broken."""
    manifest = read_manifest(directory)
    if manifest is None:
        raise IndexError_(f"no readable index manifest in {directory}")
    problem = checksum_problem(directory, manifest.files)
    if problem is not None:
        raise IndexError_(f"index files in {directory} are unreadable: {problem}")
    try:
        payload = json.loads((directory / "chunks.json").read_text("utf-8"))
        vectors = faiss.read_index(str(directory / "vectors.faiss"))
    except (OSError, ValueError, RuntimeError) as exc:
        raise IndexError_(f"index files in {directory} are unreadable: {exc}") from exc
    try:
        chunks = [
            Chunk(id=c["id"], section=c["section"], text=c["text"], sentences=tuple(c["sentences"]))
            for c in payload["chunks"]
        ]
        views = [View(**v) for v in payload["views"]]
        keys = {int(k): list(v) for k, v in payload["keys"].items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise IndexError_(
            f"chunks.json in {directory} has the wrong structure ({type(exc).__name__})"
        ) from exc
    if vectors.ntotal != len(views):
        raise IndexError_(
            f"index in {directory} has {vectors.ntotal} vectors for {len(views)} views"
        )
    return GuideIndex(manifest=manifest, chunks=chunks, views=views, keys=keys, vectors=vectors)


def stale_reasons(manifest: Manifest | None, expected: dict[str, object]) -> list[str]:
    """Why the index on disk cannot be used as is (empty list: it is fresh)."""
    if manifest is None:
        return ["no index on disk"]
    found = manifest.identity()
    return [
        f"{name} changed ({found.get(name)!r} -> {value!r})"
        if name not in {"guide_sha256", "data_sha256", "model_fingerprint"}
        else f"{name.split('_')[0]} changed"
        for name, value in expected.items()
        if found.get(name) != value
    ]


def load_or_build(
    directory: Path,
    encoder: TextEncoder,
    params: ChunkingParams | None = None,
) -> tuple[GuideIndex, str | None]:
    """Load a fresh index, or rebuild and save it; the message says why it was rebuilt."""
    params = params or ChunkingParams()
    expected = expected_identity(encoder, load_guide(), params)
    manifest = read_manifest(directory)
    reasons = stale_reasons(manifest, expected)
    model_files = getattr(encoder, "checksums", None)
    if manifest is not None and model_files and manifest.model_files != model_files:
        reasons.append("model files changed")  # a re-made model may embed differently
    if not reasons:
        try:
            return load_index(directory), None
        except IndexError_ as exc:
            reasons = [str(exc)]
    message = f"rebuilding the guide index in {directory}: {'; '.join(reasons)}"
    log.info(message)  # the caller shows the returned message
    index = build_index(encoder, params=params)
    save_index(index, directory)
    return index, message
