"""Bounded, line-exact reading of command-line input (``ask -`` and ``ask --batch``).

Why: ``--batch /dev/zero`` read without end, 100 MB on stdin took 11 s to refuse, a raw
U+2028 inside a JSON string split a line (``str.splitlines`` breaks on it and on seven
other characters), so answers no longer lined up with questions, and one deeply nested
line raised ``RecursionError`` and ended the whole batch. Here:

* reads stop one byte past a limit and refuse with a clear message (a regular file is
  judged by its size before any read);
* lines are split on ``b"\\n"`` only, so output line N always answers input line N;
* each line is decoded and parsed on its own; any problem becomes that line's error.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from bot.notices import notice

MAX_STDIN_BYTES = 64 * 1024  # a question is at most 1,000 characters
MAX_BATCH_BYTES = 32 * 1024 * 1024  # about 100,000 questions
MAX_LINE_DEPTH = 32  # JSON nesting a batch line may have; {"q": ...} has 1


class InputTooLarge(ValueError):
    """The input is over its limit; the message says the limit."""


def read_bounded(stream: BinaryIO, limit: int, source: str, what: str) -> bytes:
    """At most ``limit`` bytes of ``stream``, or :class:`InputTooLarge` after reading one
    byte more (never the rest of it)."""
    data = bytearray()
    while len(data) <= limit:
        chunk = stream.read(limit + 1 - len(data))
        if not chunk:
            return bytes(data)
        data += chunk
    raise InputTooLarge(notice("input_too_large", source=source, limit=limit, what=what))


def read_file_bounded(path: Path, limit: int, what: str) -> bytes:
    """A file's bytes, refusing at once a regular file over ``limit`` and stopping any
    other (a device, a pipe) one byte past it. ``OSError`` passes through."""
    with path.open("rb") as handle:
        if os.fstat(handle.fileno()).st_size > limit:
            raise InputTooLarge(notice("input_too_large", source=path, limit=limit, what=what))
        return read_bounded(handle, limit, str(path), what)


def split_lines(data: bytes) -> list[bytes]:
    """Lines split on ``\\n`` only (a final newline ends the last line, it does not start
    another); a ``\\r`` before it is dropped."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [line.removesuffix(b"\r") for line in lines]


def _depth_over(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if not isinstance(item, dict | list):
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


@dataclass(frozen=True)
class BatchLine:
    """One input line: its JSON value, or why it has none."""

    number: int  # 1-based
    value: Any = None
    error: str | None = None


def parse_line(number: int, raw: bytes) -> BatchLine:
    """Decode and parse one batch line; never raises."""
    if not raw.strip():
        return BatchLine(number, error=f"line {number}: the line is empty")
    if b"\x00" in raw:
        return BatchLine(number, error=f"line {number}: the line looks binary (NUL bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return BatchLine(number, error=f"line {number}: the line is not UTF-8 text")
    try:
        value = json.loads(text)
    except RecursionError:
        return BatchLine(
            number, error=notice("batch_line_too_deep", line=number, depth=MAX_LINE_DEPTH)
        )
    except ValueError as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not valid JSON"
        return BatchLine(number, error=f"line {number}: {reason}")
    if _depth_over(value, MAX_LINE_DEPTH):
        return BatchLine(
            number, error=notice("batch_line_too_deep", line=number, depth=MAX_LINE_DEPTH)
        )
    return BatchLine(number, value=value)


def parse_batch(data: bytes) -> list[BatchLine]:
    """Every line of a JSONL batch, in order, each parsed or with its error."""
    return [parse_line(n, raw) for n, raw in enumerate(split_lines(data), start=1)]
