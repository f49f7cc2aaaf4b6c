"""Red-flag recognition learned from labelled examples, beside the hand-written rules.

Rules (``bot/safety.py``) are precise on the words they know; people describe injuries in
words nobody listed ("felt like a ball from the next court hit me"). So every message is
also compared with ``knowledge/data/triage_examples.yaml``: several hundred messages
labelled with a red-flag id or ``none`` (hard negatives: healed injuries, delayed soreness,
cramps, "make my calves pop"). The vote reuses the vector the question is embedded with
for retrieval anyway, so it costs one small matrix product, not another encode.

Decision: the *k* nearest examples by cosine vote, each weighted by its similarity; a flag
is raised when its share of the vote reaches ``VOTE_SHARE`` and its nearest example is at
least ``MIN_SIMILARITY`` away. These two numbers were chosen by leave-one-out over the
examples themselves (``calfcoach triage check``), never on the eval sets.

The example vectors are an artifact like the index: stored with a manifest (encoder
fingerprint, hash of the examples and of the catalogue), loaded when fresh, rebuilt with
a notice when missing or stale. A label that is not a catalogue id fails the load.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel

from bot.safety import (
    RULE_IDS,
    Triage,
    rule_flags,
    tells_of_someone,
    told_as_fine,
    told_as_past,
    told_as_settling,
    told_of_someone_else,
)
from index.files import atomic_directory
from knowledge.facts import DATA_DIR
from knowledge.models import RedFlag

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
EXAMPLES_FILE = DATA_DIR / "triage_examples.yaml"
NONE = "none"
K = 7
VOTE_SHARE = 0.5
MIN_SIMILARITY = 0.45
MARGIN = 0.05

Embed = Callable[[list[str]], np.ndarray]


class TriageDataError(ValueError):
    """The examples name a red flag the catalogue does not have, or are malformed."""


class TriageManifest(BaseModel):
    schema_version: int
    model_fingerprint: str
    examples_sha256: str
    red_flags_sha256: str
    synonyms_sha256: str
    passage_keys_sha256: str
    examples: int
    built_at: datetime

    def identity(self) -> dict[str, object]:
        return {
            "schema_version": self.schema_version,
            "model_fingerprint": self.model_fingerprint,
            "examples_sha256": self.examples_sha256,
            "red_flags_sha256": self.red_flags_sha256,
            "synonyms_sha256": self.synonyms_sha256,
            "passage_keys_sha256": self.passage_keys_sha256,
        }


def load_examples(path: Path = EXAMPLES_FILE) -> list[tuple[str, str]]:
    """(text, label) pairs; labels are red-flag ids or ``none``.

    The client questions written for the guide's passages (``passage_keys.yaml``) join as
    ``none``: they are, by construction, things the guide answers, and they keep the vote
    from reading every ankle question as an injury.
    """
    from knowledge.facts import load_facts

    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise TriageDataError(f"{path}: expected a mapping of label -> messages")
    pairs = []
    for label, texts in raw.items():
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise TriageDataError(f"{path}: {label}: expected a list of messages")
        pairs += [(t, str(label)) for t in texts]
    keys = [q for group in load_facts().passage_keys for q in group.questions]
    return pairs + [(q, NONE) for q in keys]


def check_ids(labels: set[str], red_flags: tuple[RedFlag, ...]) -> None:
    """Every id the triage code or data uses must be a catalogue id (start-up check)."""
    known = {f.id for f in red_flags}
    unknown = (labels - {NONE} - known) | (set(RULE_IDS) - known)
    if unknown:
        raise TriageDataError(f"red-flag ids not in red_flags.yaml: {sorted(unknown)}")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _expected(fingerprint: str, examples: Path) -> dict[str, object]:
    return {
        "schema_version": SCHEMA_VERSION,
        "model_fingerprint": fingerprint,
        "examples_sha256": _sha(examples),
        "red_flags_sha256": _sha(DATA_DIR / "red_flags.yaml"),
        # Questions are embedded after the synonym rewrite, so the examples are too.
        "synonyms_sha256": _sha(DATA_DIR / "synonyms.yaml"),
        "passage_keys_sha256": _sha(DATA_DIR / "passage_keys.yaml"),
    }


@dataclass(frozen=True)
class Neighbours:
    """The example vectors and their labels."""

    vectors: np.ndarray  # (n, d), unit length, float32
    labels: tuple[str, ...]

    def __post_init__(self) -> None:
        self._label_ids()

    def _label_ids(self) -> tuple[list[str], np.ndarray]:
        names = sorted(set(self.labels))
        index = {n: i for i, n in enumerate(names)}
        return names, np.array([index[label] for label in self.labels], dtype=np.int64)

    def vote(self, vector: np.ndarray, *, skip: int | None = None) -> set[str]:
        """Red-flag ids the nearest examples vote for (``skip``: leave one out)."""
        sims = self.vectors @ vector.reshape(-1).astype(np.float32)
        if skip is not None:
            sims[skip] = -1.0
        top = np.argpartition(-sims, K)[:K]
        weights: dict[str, float] = {}
        for i in top:
            label = self.labels[i]
            weights[label] = weights.get(label, 0.0) + float(max(sims[i], 0.0))
        total = sum(weights.values()) or 1.0
        red = {label: w for label, w in weights.items() if label != NONE}
        nearest_red = max((float(sims[i]) for i in top if self.labels[i] != NONE), default=-1.0)
        nearest_none = max((float(sims[i]) for i in top if self.labels[i] == NONE), default=-1.0)
        # Is it a red flag at all (the red labels' share of the vote, and no ordinary
        # example clearly closer)? Then which: the flags with the most weight.
        if (
            sum(red.values()) / total < VOTE_SHARE
            or nearest_red < MIN_SIMILARITY
            or nearest_none - nearest_red > MARGIN
        ):
            return set()
        top_weight = max(red.values())
        return {label for label, w in red.items() if w >= top_weight / 2}


def build_neighbours(embed: Embed, examples: list[tuple[str, str]]) -> Neighbours:
    texts = [t for t, _ in examples]
    vectors = np.asarray(embed(texts), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return Neighbours(vectors=vectors, labels=tuple(label for _, label in examples))


def _save(neighbours: Neighbours, manifest: TriageManifest, directory: Path) -> None:
    with atomic_directory(directory) as tmp:
        np.save(tmp / "vectors.npy", neighbours.vectors)
        (tmp / "labels.json").write_text(json.dumps(list(neighbours.labels)), "utf-8")
        (tmp / "manifest.json").write_text(manifest.model_dump_json(indent=2), "utf-8")


def _load(directory: Path, expected: dict[str, object]) -> Neighbours | None:
    try:
        manifest = TriageManifest.model_validate_json((directory / "manifest.json").read_text())
        if manifest.identity() != expected:
            return None
        labels = tuple(json.loads((directory / "labels.json").read_text()))
        vectors = np.load(directory / "vectors.npy")
    except (OSError, ValueError):
        return None
    if vectors.shape[0] != len(labels) or len(labels) != manifest.examples:
        return None
    return Neighbours(vectors=vectors, labels=labels)


def load_or_build_neighbours(
    directory: Path,
    embed: Embed,
    fingerprint: str,
    red_flags: tuple[RedFlag, ...],
    examples_path: Path = EXAMPLES_FILE,
) -> tuple[Neighbours, str | None]:
    """Fresh example vectors from disk, or rebuilt (and saved) with a notice saying why."""
    examples = load_examples(examples_path)
    check_ids({label for _, label in examples}, red_flags)
    expected = _expected(fingerprint, examples_path)
    neighbours = _load(directory, expected)
    if neighbours is not None:
        return neighbours, None
    reason = "none on disk" if not (directory / "manifest.json").exists() else "stale"
    message = f"rebuilding the triage examples in {directory}: {reason}"
    log.info(message)
    neighbours = build_neighbours(embed, examples)
    manifest = TriageManifest(
        **expected,  # type: ignore[arg-type]
        examples=len(examples),
        built_at=datetime.now(UTC),
    )
    _save(neighbours, manifest, directory)
    return neighbours, message


class Triager:
    """Rules and the example vote together; what the service calls for every message."""

    def __init__(self, neighbours: Neighbours, red_flags: tuple[RedFlag, ...]) -> None:
        check_ids(set(neighbours.labels), red_flags)
        self.neighbours = neighbours
        self.red_flags = red_flags

    def __call__(self, text: str, vector: np.ndarray) -> Triage:
        """The red flags in ``text``: the rules' and the vote's.

        The vote is read only for a message that tells of someone's body (not a general
        question such as "why would that muscle cause shin pain?"), that is not told as an
        old or healed injury, and that is not a pain that settles ("first few steps are
        agony, then it eases off", "fine by lunch") or someone else's injury told as the
        past ("a guy at my gym snapped his"): its nearest examples are injuries told as
        stories, and these look like them in wording only. Rules are never held back.
        """
        found = rule_flags(text)
        if told_as_past(text):
            return Triage.of(found, self.red_flags)
        voted = self.neighbours.vote(vector) - found
        # The gates are read only when the vote adds something (rarely), to keep triage
        # within its half-millisecond budget.
        if voted and (
            tells_of_someone(text)
            and not told_as_settling(text)
            and not told_as_fine(text)
            and not told_of_someone_else(text)
        ):
            found |= voted
        return Triage.of(found, self.red_flags)

    def across(self, previous: str, text: str) -> Triage:
        """The red flags in two messages told one after the other ("my calf is swollen and
        warm", then "I flew back from Sydney yesterday"), without encoding anything.

        Each message's own vote already ran on its own vector when it was asked (the
        previous one raised nothing, or a referral would be in force); what only the two
        together can show is a symptom in one and its context in the other, which is what
        the rules read. Encoding the joined text again cost a second encoder pass on most
        turns; this costs a regex pass.
        """
        return Triage.of(rule_flags(f"{previous}\n{text}"), self.red_flags)


def leave_one_out(neighbours: Neighbours) -> dict[str, float]:
    """How the vote alone does on each example with that example held out: recall over
    red-flag examples (any flag raised) and false alarms over ``none`` examples. This is how
    ``K``, ``VOTE_SHARE`` and ``MIN_SIMILARITY`` were chosen, without the eval sets."""
    positives = alarms = negatives = hits = 0
    for i, label in enumerate(neighbours.labels):
        raised = neighbours.vote(neighbours.vectors[i], skip=i)
        if label == NONE:
            negatives += 1
            alarms += bool(raised)
        else:
            positives += 1
            hits += bool(raised)
    return {
        "recall": round(hits / max(positives, 1), 4),
        "false_alarms": round(alarms / max(negatives, 1), 4),
    }
