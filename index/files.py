"""Writing a directory so that readers see the old one or the new one, never half of one."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# mkdtemp makes its directory 0700; the finished directory must be readable by other users,
# since an image builds the index as root and serves it as an unprivileged user.
DIRECTORY_MODE = 0o755


@contextmanager
def atomic_directory(target: Path) -> Iterator[Path]:
    """A scratch directory beside ``target`` that replaces it only once the block has
    finished, so a crash mid-write never leaves a half-written index or model for the
    next start to load."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    os.chmod(tmp, DIRECTORY_MODE)
    try:
        yield tmp
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def sha256_file(path: Path) -> str:
    """The file's SHA-256, read in blocks (a model file is tens of MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def checksums(directory: Path, names: list[str]) -> dict[str, str]:
    """SHA-256 of each named file in ``directory``, to record beside them."""
    return {name: sha256_file(directory / name) for name in names}


def checksum_problem(directory: Path, expected: dict[str, str]) -> str | None:
    """Why the files in ``directory`` do not match ``expected`` (missing, or changed since
    they were written: a flipped byte, an edit, a truncated copy); None when they match."""
    if not expected:
        return "no checksums recorded (written by an older version)"
    for name, digest in sorted(expected.items()):
        path = directory / name
        if not path.is_file():
            return f"{name} is missing"
        if sha256_file(path) != digest:
            return f"{name} is corrupt (checksum mismatch)"
    return None
