"""A referral that stays in force across the conversation.

Once a message raised a red flag, "can I just do the eccentric raises to fix it?" must
not get a program: while the conversation is about that injury the answer is "not until a
clinician has checked it" with the referral again. The referral ends when the person says
a clinician checked and cleared it, clearly changes the subject, or starts over (/start,
/restart: the engine drops the state). Details told across two messages ("my calf is
swollen and warm", then "I flew back from Sydney yesterday") are triaged together.

:func:`follow` is pure: the engine gives it the state and what triage found, and applies
the decision; nothing here knows the transport, the store or the encoder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.safety import Triage

MAX_REMEMBERED = 1000  # the longest message kept to combine with the next one

# A clinician saw it and it is fine (or a diagnosis that is not a red flag).
_CLEARED = re.compile(
    r"\b(?:cleared|all clear|ruled out|nothing (?:broken|torn|serious)|"
    r"no (?:fracture|break|tear|clot|dvt)|not (?:a |an )?(?:fracture|break|tear|rupture|clot|dvt)|"
    r"(?:scan|x-?ray|ultrasound)s? (?:was |were |came back )?(?:clear|fine|normal|negative)|"
    r"(?:said|says|told me) (?:it'?s|it is|i'?m|i am) (?:fine|ok|okay|just a)|"
    r"(?:got|had|been|was|it was|it'?s been) (?:it )?(?:checked|seen|examined)(?: out)?\b"
    r"[^.!?]{0,40}\b(?:fine|ok|okay|nothing|clear|just))"
)
# Still about the injury: training it (in any of the words for a workout: "the seated
# ones", "how many reps", "the band work"), getting back from it, or pointing back at it.
_ABOUT_IT = re.compile(
    r"\b(?:it|this|that|the injury|my (?:calf|calves|achilles|ankle|foot|heel|leg|shin|arch|toes?)|"
    r"exercis\w*|train\w*|stretch\w*|massag\w*|foam ?roll\w*|rehab\w*|raises?|eccentric\w*|"
    r"program\w*|workout|run|running|walk\w*|play\w*|squat\w*|jump\w*|gym|lift\w*|load\w*|"
    r"strengthen\w*|heal\w*|recover\w*|rest|ice|heat|brace|tape|boot|"
    r"them|they|those|these|ones?|seated|standing|gently|gentle|light(?:ly)?|a bit|"
    r"reps?|sets?|bands?|drops?|moves?|drills?|"
    r"how long|come back|get back|get better|back to|return\w*|when can i|can i|should i|"
    r"is it (?:ok|okay|safe|fine)|still)\b"
)
# A clear change of subject ends a referral that is not asked about again.
_NEW_SUBJECT = re.compile(
    r"\b(?:unrelated|different (?:question|topic|thing)|another (?:question|thing)|"
    r"new question|on another note|changing the subject|by the way|btw|separate question)\b"
)


class ReferralState(BaseModel):
    """What the conversation remembers for triage between two messages."""

    model_config = ConfigDict(extra="forbid")

    flags: tuple[str, ...] = Field(default=(), description="Red-flag ids in force.")
    previous: str = Field(default="", description="The last free-text message, to combine.")


@dataclass(frozen=True)
class Decision:
    """What the engine should say, and the state to keep.

    ``refer``: send the referral for ``flags``; ``not_until_checked``: the same with the
    "not until a clinician has checked it" opening; ``cleared``: acknowledge and answer
    as usual; ``answer``: triage has nothing to add.
    """

    action: Literal["refer", "not_until_checked", "cleared", "answer"]
    flags: tuple[str, ...]
    state: ReferralState


def follow(
    state: ReferralState | None, text: str, now: Triage, combined: Triage | None
) -> Decision:
    """The triage decision for one free-text message.

    ``now`` is the triage of this message alone; ``combined`` that of the previous message
    and this one together (``None`` when there was no previous message).
    """
    state = state or ReferralState()
    remembered = text[-MAX_REMEMBERED:]
    lowered = text.lower()
    if now.is_red_flag:
        flags = tuple(dict.fromkeys((*now.ids, *state.flags)))
        return Decision("refer", flags, ReferralState(flags=flags, previous=remembered))
    if state.flags:
        if _CLEARED.search(lowered):
            return Decision("cleared", (), ReferralState(previous=""))
        if _ABOUT_IT.search(lowered) and not _NEW_SUBJECT.search(lowered):
            return Decision(
                "not_until_checked", state.flags, state.model_copy(update={"previous": remembered})
            )
        return Decision("answer", (), ReferralState(previous=remembered))
    if combined is not None and combined.is_red_flag:
        return Decision(
            "refer", combined.ids, ReferralState(flags=combined.ids, previous=remembered)
        )
    return Decision("answer", (), ReferralState(previous=remembered))
