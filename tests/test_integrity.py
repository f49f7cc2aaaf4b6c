"""Damaged index and model files are rebuilt at start with a notice, never served and
never a crash loop: the real `calfcoach ask` process on a copy of the session's data
directory, damaged one way at a time, started twice."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from index.files import sha256_file

QUESTION = "how do I fix a weak soleus"


def _flip(path: Path, count: int = 64) -> None:
    """Flip ``count`` bytes in the middle of the file (it still parses as what it was)."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    for i in range(middle, middle + count):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


def _chunks(data: Path) -> Path:
    return data / "index" / "chunks.json"


def _int8(data: Path) -> Path:
    return next((data / "models").glob("onnx-*-int8"))


def _wrong_structure(data: Path) -> None:
    _chunks(data).write_text(json.dumps({"chunks": [{"id": 1}], "views": [], "keys": {}}))


def _wrong_structure_with_its_checksum(data: Path) -> None:
    """Structure checked on its own: the manifest is made to agree with the bad file."""
    _wrong_structure(data)
    manifest_path = data / "index" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["chunks.json"] = sha256_file(_chunks(data))
    manifest_path.write_text(json.dumps(manifest))


def _edited_chunk_text(data: Path) -> None:
    payload = json.loads(_chunks(data).read_text())
    for chunk in payload["chunks"]:
        if "seated calf raise" in chunk["text"].lower():
            chunk["text"] = "Do tibialis posterior band inversions instead."
    _chunks(data).write_text(json.dumps(payload))


DAMAGE: dict[str, tuple[Callable[[Path], None], bool]] = {
    # name: (damage, touches the models)
    "chunks.json of the wrong structure": (_wrong_structure, False),
    "chunks.json of the wrong structure, checksum updated": (
        _wrong_structure_with_its_checksum,
        False,
    ),
    "edited chunk text": (_edited_chunk_text, False),
    "flipped bytes in vectors.faiss": (lambda d: _flip(d / "index" / "vectors.faiss"), False),
    "garbage manifest": (lambda d: (d / "index" / "manifest.json").write_text("{"), False),
    "missing vectors.faiss": (lambda d: (d / "index" / "vectors.faiss").unlink(), False),
    "corrupt int8 model": (lambda d: _flip(_int8(d) / "model.onnx"), True),
    "truncated int8 model": (
        lambda d: (_int8(d) / "model.onnx").write_bytes(
            (_int8(d) / "model.onnx").read_bytes()[:9999]
        ),
        True,
    ),
    "corrupt tokenizer": (lambda d: (_int8(d) / "tokenizer.json").write_text("{not json"), True),
    "flipped bytes in the tokenizer": (lambda d: _flip(_int8(d) / "tokenizer.json", 8), True),
}


def _ask(env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--json", QUESTION],
        capture_output=True,
        env=env,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("name", list(DAMAGE))
def test_damaged_files_are_rebuilt_once_and_never_served(
    name: str, tmp_path: Path, index_dir: Path
) -> None:
    damage, models = DAMAGE[name]
    source = index_dir.parent
    data = tmp_path / "data"
    data.mkdir()
    shutil.copytree(source / "index", data / "index")
    if models:
        shutil.copytree(source / "models", data / "models")
    else:
        (data / "models").symlink_to(source / "models", target_is_directory=True)
    damage(data)
    env = {**os.environ, "DATA_DIR": str(data), "INDEX_DIR": str(data / "index")}
    env["LOG_LEVEL"] = "WARNING"
    first = _ask(env)
    assert first.returncode == 0, first.stderr.decode()
    answer = json.loads(first.stdout)
    assert "seated calf raise" in answer["answer"].lower()  # the guide's answer, not the damage
    notice = first.stderr.decode()
    assert "rebuilding" in notice or "not used" in notice, notice
    second = _ask(env)  # repaired for good: no second rebuild, no loop
    assert second.returncode == 0, second.stderr.decode()
    assert json.loads(second.stdout)["answer"] == answer["answer"]
    assert "rebuilding" not in second.stderr.decode() and "not used" not in second.stderr.decode()
