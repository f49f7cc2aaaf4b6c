"""Micro-batching: concurrent single-question encodes are handed to the encoder together.

Encoding 64 questions in one ``encode`` call costs a fraction of 64 separate calls: a
float encoder runs them as one padded batch, the int8 one spreads them over the cores
(see ``OnnxEncoder``). Callers (threads or coroutines) submit one text and get a future;
one worker thread takes whatever is queued (up to ``max_batch``) and encodes it together.
A lone request is encoded at once, so batching adds no latency when the bot is quiet; a
lone synchronous caller is even encoded in its own thread, saving the hand-off.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future

import numpy as np

EncodeFn = Callable[[list[str]], np.ndarray]


class MicroBatcher:
    """Thread-safe front for an encoder; start-on-first-use, daemon worker."""

    def __init__(self, encode: EncodeFn, *, max_batch: int = 64) -> None:
        self._encode = encode
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[str, Future[np.ndarray]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._direct = 0  # requests being encoded in their caller's thread right now
        self._busy = False  # the worker is encoding a batch
        self.batches = 0  # for the benchmark: how many encode calls served the requests

    def submit(self, text: str) -> Future[np.ndarray]:
        self._ensure_worker()
        future: Future[np.ndarray] = Future()
        self._queue.put((text, future))
        return future

    def encode_one(self, text: str) -> np.ndarray:
        """Encode one text; alone, in the calling thread (no hand-off), else in a batch."""
        with self._lock:
            idle = self._direct == 0 and self._queue.empty() and not self._busy
            if idle:
                self._direct += 1
        if not idle:
            return self.submit(text).result()
        try:
            return self._encode([text])[0]
        finally:
            with self._lock:
                self._direct -= 1

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)

    def _ensure_worker(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="encoder", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            with self._lock:
                self._busy = True
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                batch.append(item)
            try:
                vectors = self._encode([text for text, _ in batch])
            except Exception as exc:  # hand the failure to every waiting caller
                for _, future in batch:
                    future.set_exception(exc)
                continue
            finally:
                with self._lock:
                    self._busy = False
            self.batches += 1
            for (_, future), vector in zip(batch, vectors, strict=True):
                future.set_result(vector)
