"""The same sentence vectors as :class:`index.embedding.Encoder`, without importing torch.

At index build time the model is exported once to ONNX (this needs torch); at run time
queries are embedded with onnxruntime and the model's own ``tokenizer.json``: mean pooling
over the last hidden state and L2 normalisation, exactly what sentence-transformers does
for all-MiniLM-L6-v2 (``tests/test_index.py`` checks the vectors agree). This keeps torch
(4-8 s and ~480 MB to import) off the serving path: cold start and memory are the reason.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)
META = "calfcoach-onnx.json"


def onnx_dir(cache_dir: Path, fingerprint: str) -> Path:
    return cache_dir / f"onnx-{fingerprint}"


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
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".onnx-", dir=target.parent))
    try:
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
        }
        (tmp / META).write_text(json.dumps(meta))
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log.info("exported %s to %s", model_name, target)
    return target


class OnnxEncoder:
    """Embeds texts with onnxruntime; same interface and vectors as ``Encoder``."""

    def __init__(self, directory: Path, *, threads: int = 0) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        meta = json.loads((directory / META).read_text())
        self.model_name: str = meta["model_name"]
        self.fingerprint: str = meta["fingerprint"]
        self.path = directory
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # ORT's worker threads busy-wait between runs by default; on a 2-core server that
        # steals the CPU the event loop and the other requests need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            str(directory / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=int(meta["max_seq_length"]))
        self._tokenizer.enable_padding()

    def encode(self, texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        """``(len(texts), dim)`` float32 unit vectors, in batches of ``batch_size``."""
        out = [self._encode(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)]
        return np.ascontiguousarray(np.concatenate(out) if out else np.zeros((0, 384), np.float32))

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
