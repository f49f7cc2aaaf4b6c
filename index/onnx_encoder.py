"""Sentence vectors with onnxruntime, without importing torch.

The model is exported to ONNX once, on first start or by ``calfcoach index build`` (this
needs torch); from then on texts are embedded with onnxruntime and the model's own
``tokenizer.json``: mean pooling over the last hidden state and L2 normalisation, exactly
what sentence-transformers does for all-MiniLM-L6-v2. The float export gives
sentence-transformers' vectors (``tests/test_index.py`` checks they agree). This keeps torch
(4-8 s and ~480 MB to import) off the serving path: cold start and memory are the reason.

The export is then quantised to int8 (``onnxruntime.quantization.quantize_dynamic``),
the default encoder: a question embeds in half the time (1.8 against 3.7 ms here) with the
same retrieval quality on held-out questions. Its vectors are not the float model's
(cosine about 0.965 to them), so an int8 encoder has its own fingerprint, and the index is
embedded by the very encoder that embeds the questions.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from index.files import atomic_directory, checksum_problem, checksums

log = logging.getLogger(__name__)
META = "calfcoach-onnx.json"
MODEL_FILES = ["model.onnx", "tokenizer.json"]  # checksummed in META["files"]


INT8_SUFFIX = "-int8"


def onnx_dir(cache_dir: Path, fingerprint: str, *, int8: bool = False) -> Path:
    return cache_dir / f"onnx-{fingerprint}{INT8_SUFFIX if int8 else ''}"


def _max_seq_length(model_path: Path) -> int:
    config = model_path / "sentence_bert_config.json"
    if config.exists():
        return int(json.loads(config.read_text()).get("max_seq_length", 256))
    return 256


def export_onnx(model_name: str, model_path: Path, fingerprint: str, target: Path) -> Path:
    """Export the transformer to ``target/model.onnx`` with its tokenizer (imports torch)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    if not (model_path / "tokenizer.json").exists():
        raise FileNotFoundError(f"{model_path} has no tokenizer.json; cannot serve it with ONNX")
    tokenizer = AutoTokenizer.from_pretrained(str(model_path))
    model = AutoModel.from_pretrained(str(model_path)).eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    sample = tokenizer(
        ["a short question", "and a longer one about calves"], padding=True, return_tensors="pt"
    )
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with atomic_directory(target) as tmp:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about shapes we keep dynamic
            torch.onnx.export(
                LastHiddenState(model),
                tuple(sample[name] for name in names),
                str(tmp / "model.onnx"),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes={
                    n: {0: "batch", 1: "sequence"} for n in [*names, "last_hidden_state"]
                },
                opset_version=17,
                dynamo=False,
            )
        shutil.copy(model_path / "tokenizer.json", tmp / "tokenizer.json")
        meta = {
            "model_name": model_name,
            "fingerprint": fingerprint,
            "max_seq_length": _max_seq_length(model_path),
            "files": checksums(tmp, MODEL_FILES),
        }
        (tmp / META).write_text(json.dumps(meta))
    log.info("exported %s to %s", model_name, target)
    return target


class _DropRecords(logging.Filter):
    def __init__(self, containing: str) -> None:
        super().__init__()
        self.containing = containing

    def filter(self, record: logging.LogRecord) -> bool:
        return self.containing not in record.getMessage()


def quantize_onnx(source: Path, target: Path) -> Path:
    """Write an int8 copy of the export in ``source`` to ``target`` (weights quantised
    once, activations per call: ``quantize_dynamic``, no calibration data needed)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    meta = json.loads((source / META).read_text())
    meta["fingerprint"] = f"{meta['fingerprint']}{INT8_SUFFIX}"
    meta["quantization"] = "int8 dynamic, per-tensor weights"
    with atomic_directory(target) as tmp:
        root = logging.getLogger()
        hint = _DropRecords("pre-processing")  # quantize_dynamic's advice, on the root logger
        root.addFilter(hint)
        try:
            quantize_dynamic(
                str(source / "model.onnx"), str(tmp / "model.onnx"), weight_type=QuantType.QInt8
            )
        finally:
            root.removeFilter(hint)
        shutil.copy(source / "tokenizer.json", tmp / "tokenizer.json")
        meta["files"] = checksums(tmp, MODEL_FILES)
        (tmp / META).write_text(json.dumps(meta))
    log.info("quantised %s to int8 in %s", meta["model_name"], target)
    return target


def export_problem(directory: Path) -> str | None:
    """Why the export in ``directory`` must not be loaded (missing, unreadable metadata,
    a model or tokenizer file that changed since it was written); None if it is sound.
    A corrupt model would otherwise fail every start, or worse, load and embed wrongly."""
    if not (directory / META).is_file():
        return "missing" if not directory.exists() else f"{META} is missing"
    try:
        meta = json.loads((directory / META).read_text("utf-8"))
        files = meta["files"]
        if not isinstance(files, dict):
            raise TypeError("files")
    except (OSError, ValueError, KeyError, TypeError):
        return f"{META} is unreadable or has no checksums (made by an older version)"
    return checksum_problem(directory, files)


def prepare_onnx(
    model_name: str, model_path: Path, fingerprint: str, models_dir: Path, *, int8: bool
) -> tuple[Path, list[str]]:
    """The directory of the export (quantised if ``int8``), made first if it is missing.

    Returns it with a notice for each thing that had to be made (shown to the operator:
    the first start after an install or a model change takes a few seconds more).
    """
    notices: list[str] = []
    quantised = onnx_dir(models_dir, fingerprint, int8=True)
    if int8:
        problem = export_problem(quantised)
        if problem is None:
            return quantised, notices  # the float export is not needed once this exists
        if quantised.exists():
            notices.append(f"the int8 model in {quantised} is not used: {problem}")
            log.warning(notices[-1])
    plain = onnx_dir(models_dir, fingerprint)
    problem = export_problem(plain)
    if problem is not None:
        if plain.exists():
            notices.append(f"the ONNX export in {plain} is not used: {problem}")
            log.warning(notices[-1])
        notices.append(f"exporting {model_name} to ONNX in {plain}")
        log.info(notices[-1])
        export_onnx(model_name, model_path, fingerprint, plain)
    if not int8:
        return plain, notices
    notices.append(f"quantising the ONNX export to int8 in {quantised}")
    log.info(notices[-1])
    quantize_onnx(plain, quantised)
    return quantised, notices


def _usable_cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class OnnxEncoder:
    """Embeds texts with onnxruntime; the same interface as ``Encoder`` (and, for a float
    export, the same vectors).

    A float export embeds a list as padded batches on ``threads`` intra-op threads. An
    int8 export embeds every text on its own: dynamic quantisation picks activation
    scales per call, so in a padded batch a question's vector would depend on the other
    questions in it (cosine down to 0.986 here); alone, the vector a user's question gets
    is always the one the index and the eval saw. It is also faster: one text on one
    thread takes 1.8 ms (2.2 on two: the matrices are too small to pay for waking a
    second thread), and a list spread over one worker per core costs 1.0 ms a text
    against 1.4 ms in batches of 32.
    """

    def __init__(self, directory: Path, *, threads: int = 0) -> None:
        from tokenizers import Tokenizer

        meta = json.loads((directory / META).read_text())
        self.model_name: str = meta["model_name"]
        self.fingerprint: str = meta["fingerprint"]
        # The files' checksums, recorded in the index manifest that this encoder embeds.
        self.checksums: dict[str, str] = dict(meta.get("files") or {})
        self.path = directory
        self.rowwise = "quantization" in meta
        self._session = self._open(directory, 1 if self.rowwise else threads)
        self._workers = (
            ThreadPoolExecutor(threads or _usable_cores(), thread_name_prefix="onnx")
            if self.rowwise
            else None
        )
        shape = self._session.get_outputs()[0].shape
        self.dimension = shape[-1] if isinstance(shape[-1], int) else 384
        self._tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=int(meta["max_seq_length"]))
        self._tokenizer.enable_padding()

    @staticmethod
    def _open(directory: Path, threads: int):  # type: ignore[no-untyped-def]
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # ORT's worker threads busy-wait between runs by default; on a 2-core server that
        # steals the CPU the event loop and the other requests need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        return ort.InferenceSession(
            str(directory / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )

    def encode(self, texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        """``(len(texts), dim)`` float32 unit vectors."""
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        if self._workers is not None:  # int8: one text per model call, spread over cores
            if len(texts) == 1:
                return self._encode(texts)
            return np.concatenate(list(self._workers.map(lambda t: self._encode([t]), texts)))
        out = [self._encode(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)]
        return np.ascontiguousarray(np.concatenate(out))

    def _encode(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        (hidden,) = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        )
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
