"""The imbalance rules on both sides of every threshold, and the program built from them."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from bot.assessment import AssessmentInput, assess, find_imbalances, thresholds
from knowledge.facts import load_facts
from knowledge.guide import load_guide

HISTORY_IDS = [h.id for h in load_facts().history]

BALANCED = {
    "straight_knee_reps": {"left": 30, "right": 30},
    "bent_knee_reps": {"left": 30, "right": 30},
}


def results(**changes: Any) -> AssessmentInput:
    return AssessmentInput.model_validate({**BALANCED, **changes})


def ids(data: AssessmentInput) -> dict[str, Any]:
    return {f.id: f for f in find_imbalances(data)}


def test_every_threshold_quotes_the_guide() -> None:
    guide = load_guide()
    quotes = [t.quote for t in thresholds.THRESHOLDS] + list(thresholds.QUOTES)
    assert thresholds.WEEKLY_SETS in thresholds.THRESHOLDS
    for quote in quotes:
        assert guide.contains(quote), quote
    for imbalance in load_facts().imbalances:
        assert guide.has_section(imbalance.section)


def test_balanced_results_find_nothing() -> None:
    assert find_imbalances(results()) == ()


# -- gastrocnemius dominance: bent < 2/3 of straight ------------------------------------


@pytest.mark.parametrize(
    ("bent_left", "bent_right", "side"),
    [(20, 30, "left"), (30, 20, "right"), (10, 12, "both"), (21, 21, None), (25, 30, None)],
)
def test_gastrocnemius_dominance_threshold(
    bent_left: int, bent_right: int, side: str | None
) -> None:
    found = ids(results(bent_knee_reps={"left": bent_left, "right": bent_right}))
    if side is None:
        assert "gastrocnemius_dominance" not in found
    else:
        finding = found["gastrocnemius_dominance"]
        assert finding.side == side
        assert "straight-knee" in finding.evidence and "30" in finding.evidence


def test_guide_example_15_to_20_straight_against_10_bent_is_dominance() -> None:
    for straight in (15, 20):
        data = results(
            straight_knee_reps={"left": straight, "right": straight},
            bent_knee_reps={"left": 10, "right": 10},
        )
        assert ids(data)["gastrocnemius_dominance"].side == "both"


# -- bilateral asymmetry: a 15 % deficit or more -----------------------------------------


@pytest.mark.parametrize(
    ("left", "right", "side"),
    [
        (34, 40, "left"),  # 15 % less on the left: flagged
        (40, 34, "right"),
        (35, 40, None),  # 12.5 %: below the threshold
        (40, 40, None),
    ],
)
def test_asymmetry_threshold_names_the_weaker_side(left: int, right: int, side: str | None) -> None:
    found = ids(
        results(
            straight_knee_reps={"left": left, "right": right},
            bent_knee_reps={"left": left, "right": right},
        )
    )
    if side is None:
        assert "bilateral_asymmetry" not in found
    else:
        finding = found["bilateral_asymmetry"]
        assert finding.side == side
        assert f"left {left} vs right {right}" in finding.evidence


def test_asymmetry_in_the_bent_knee_test_alone_counts() -> None:
    found = ids(results(bent_knee_reps={"left": 30, "right": 24}))
    assert found["bilateral_asymmetry"].side == "right"
    assert "bent-knee" in found["bilateral_asymmetry"].evidence


# -- peroneal weakness: balance asymmetry over 30 %, sprains add weight --------------------


@pytest.mark.parametrize(
    ("left", "right", "flagged", "side"),
    [
        (20, 30, True, "left"),  # 33 % shorter
        (30, 20, True, "right"),
        (21, 30, False, None),  # exactly 30 %: not "more than 30%"
        (30, 30, False, None),
    ],
)
def test_balance_asymmetry_threshold(
    left: int, right: int, flagged: bool, side: str | None
) -> None:
    found = ids(results(balance_seconds={"left": left, "right": right}))
    assert ("peroneal_weakness" in found) is flagged
    if flagged:
        assert found["peroneal_weakness"].side == side
        assert f"left {left} s vs right {right} s" in found["peroneal_weakness"].evidence


def test_sprain_history_adds_weight_and_alone_is_enough() -> None:
    with_balance = ids(results(balance_seconds={"left": 10, "right": 30}, history=["ankle_sprain"]))
    assert "history of ankle sprains adds weight" in with_balance["peroneal_weakness"].evidence
    history_only = ids(results(history=["ankle_sprain"]))
    assert history_only["peroneal_weakness"].side is None
    assert "balance test skipped" in history_only["peroneal_weakness"].evidence
    assert "peroneal_weakness" not in ids(results(history=["achilles_pain"]))


# -- tibialis posterior: heel valgus per side ----------------------------------------------


@pytest.mark.parametrize(
    ("left", "right", "side"),
    [(True, False, "left"), (False, True, "right"), (True, True, "both"), (False, False, None)],
)
def test_heel_valgus_names_the_side(left: bool, right: bool, side: str | None) -> None:
    found = ids(results(heel_valgus={"left": left, "right": right}, history=["shin_splints"]))
    if side is None:
        assert "tibialis_posterior_weakness" not in found
    else:
        assert found["tibialis_posterior_weakness"].side == side
        assert "shin splints supports it" in found["tibialis_posterior_weakness"].evidence


# -- overall weakness: fewer than 25 on both sides -----------------------------------------


@pytest.mark.parametrize(
    ("left", "right", "flagged"),
    [(24, 24, True), (24, 25, False), (25, 24, False), (25, 25, False)],
)
def test_overall_weakness_threshold(left: int, right: int, flagged: bool) -> None:
    found = ids(
        results(
            straight_knee_reps={"left": left, "right": right},
            bent_knee_reps={"left": left, "right": right},
        )
    )
    assert ("overall_weakness" in found) is flagged


# -- input validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"bent_knee_reps": {"left": 1, "right": 1}}, "straight_knee_reps"),
        ({**BALANCED, "straight_knee_reps": {"left": -1, "right": 3}}, "straight_knee_reps.left"),
        ({**BALANCED, "bent_knee_reps": {"left": 999, "right": 3}}, "bent_knee_reps.left"),
        ({**BALANCED, "bent_knee_reps": {"left": 12.5, "right": 3}}, "bent_knee_reps.left"),
        ({**BALANCED, "history": ["knee_pain"]}, "history.0"),
        ({**BALANCED, "red_flags": ["headache"]}, "red_flags.0"),
        ({**BALANCED, "heel_valgus": {"left": "yes", "right": False}}, "heel_valgus.left"),
    ],
)
def test_invalid_input_names_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        AssessmentInput.model_validate(data)
    locs = {".".join(str(p) for p in e["loc"]) for e in info.value.errors()}
    assert field in locs


# -- the program -----------------------------------------------------------------------------


def test_red_flag_means_referral_and_no_program() -> None:
    result = assess(results(red_flags=["sudden_pop"], bent_knee_reps={"left": 5, "right": 5}))
    assert result.referral and result.program is None and result.findings == ()


def test_base_program_has_standing_and_seated_matched_to_fibre_type() -> None:
    program = assess(results()).program
    assert program is not None
    lines = {e.id: e for e in program.exercises}
    assert lines["standing_calf_raise"].reps == (8, 15)
    assert lines["seated_calf_raise"].reps == (15, 25)
    assert lines["seated_calf_raise"].rest_s == 60
    assert 2 <= program.sessions_per_week <= 3
    assert 10 <= program.weekly_sets <= 15
    assert not any("Re-test" in e.why for e in program.exercises)  # said once, in the plan


def test_asymmetry_program_is_unilateral_weaker_side_first() -> None:
    data = results(
        straight_knee_reps={"left": 20, "right": 30}, bent_knee_reps={"left": 20, "right": 30}
    )
    program = assess(data).program
    assert program is not None
    lines = {e.id: e for e in program.exercises}
    assert {"single_leg_calf_raise_straight", "single_leg_calf_raise_bent"} <= set(lines)
    assert "standing_calf_raise" not in lines and "seated_calf_raise" not in lines
    assert all(
        lines[i].priority_side == "left"
        for i in ("single_leg_calf_raise_straight", "single_leg_calf_raise_bent")
    )
    assert any("stronger side compensate" in n for n in program.plan_notes)  # in the plan itself


def test_gastrocnemius_dominance_adds_soleus_volume_and_slow_eccentric() -> None:
    program = assess(results(bent_knee_reps={"left": 10, "right": 10})).program
    assert program is not None
    seated = next(e for e in program.exercises if e.id == "seated_calf_raise")
    assert seated.sets == 4 and "3 s down" in (seated.tempo or "")
    assert 10 <= program.weekly_sets <= 15


def test_history_adds_eccentric_protocol_stretches_and_targeted_work() -> None:
    data = results(
        history=["achilles_pain", "plantar_fasciitis", "ankle_sprain"],
        heel_valgus={"left": False, "right": True},
    )
    program = assess(data).program
    assert program is not None
    lines = {e.id: e for e in program.exercises}
    eccentric = lines["eccentric_calf_raise"]
    assert (eccentric.sets, eccentric.reps) == (3, 15) and "3 to 5 s" in (eccentric.tempo or "")
    assert any("physiotherapist" in n for n in program.plan_notes)
    assert {"calf_stretch_straight_knee", "calf_stretch_bent_knee"} <= set(lines)
    assert {"band_eversion", "single_leg_balance"} <= set(lines)
    assert lines["band_inversion"].priority_side == "right"
    assert "seated_calf_raise" in lines  # seated work stays alongside the standing eccentric
    assert 10 <= program.weekly_sets <= 15


def test_program_lines_use_only_guide_exercises() -> None:
    from knowledge.facts import load_facts

    known = {e.id for e in load_facts().exercises}
    data = results(
        straight_knee_reps={"left": 10, "right": 20},
        bent_knee_reps={"left": 5, "right": 12},
        balance_seconds={"left": 5, "right": 40},
        heel_valgus={"left": True, "right": True},
        history=HISTORY_IDS,
    )
    program = assess(data).program
    assert program is not None
    assert {e.id for e in program.exercises} <= known
    assert all(e.why for e in program.exercises)
