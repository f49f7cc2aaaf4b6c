"""Writing a directory so that readers see the old one or the new one, never half of one."""

from __future__ import annotations

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
