"""Issue 11: the assessment's ids, steps and words have one source, ``knowledge/data``.

An id the code names that the data lacks stops start-up; checklist numbers do not depend on
the order of the file; adding a history item is one data edit; each self-test step says
where its answer goes; the assessment package imports nothing above it; stored results
from before these changes still load.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from bot.assessment import AssessmentInput, assess
from bot.assessment import program as program_module
from bot.assessment.ids import UnknownIdError, check_ids
from bot.assessment.models import AssessmentResult
from bot.assessment.report import findings_text, program_text
from bot.engine import ConversationState, Engine
from bot.engine.form import assessment_input, build_steps, next_step
from knowledge.facts import DATA_DIR, KnowledgeError, load_facts

REPO = Path(__file__).resolve().parent.parent
STORED = Path(__file__).with_name("stored")


def data_copy(tmp_path: Path, edit: dict[str, Any]) -> Path:
    """knowledge/data copied to ``tmp_path`` with some files replaced by ``edit``."""
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    for name, content in edit.items():
        (target / f"{name}.yaml").write_text(yaml.safe_dump(content, sort_keys=False))
    return target


def history_data() -> list[dict[str, Any]]:
    return yaml.safe_load((DATA_DIR / "history.yaml").read_text())


# -- one source for ids --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "drop"),
    [
        ("history", "ankle_sprain"),
        ("imbalances", "overall_weakness"),
        ("exercises", "toe_gripping"),
    ],
)
def test_an_id_the_code_names_but_the_data_lacks_stops_start_up(field: str, drop: str) -> None:
    knowledge = load_facts()
    broken = knowledge.model_copy(
        update={field: tuple(i for i in getattr(knowledge, field) if i.id != drop)}
    )
    with pytest.raises(UnknownIdError, match=drop):
        check_ids(broken)
    with pytest.raises(UnknownIdError, match=drop):
        Engine(SimpleNamespace(knowledge=broken))  # type: ignore[arg-type]
    check_ids(knowledge)  # the shipped data is complete


def test_an_unknown_history_id_in_results_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"history\.0"):
        AssessmentInput.model_validate(
            {
                "straight_knee_reps": {"left": 1, "right": 1},
                "bent_knee_reps": {"left": 1, "right": 1},
                "history": ["knee_pain"],
            }
        )


def test_checklist_numbers_do_not_depend_on_the_order_of_the_file(tmp_path: Path) -> None:
    shipped = load_facts()
    reordered = load_facts(data_copy(tmp_path, {"history": history_data()[::-1]}))
    assert [h.id for h in reordered.history] != [h.id for h in shipped.history]
    assert reordered.history_checklist == shipped.history_checklist
    history = next(s for s in build_steps(reordered) if s.name == "history")
    assert history.prompt == next(s for s in build_steps(shipped) if s.name == "history").prompt
    assert history.parse("1").tick == ("ankle_sprain",)


def test_duplicate_checklist_numbers_are_refused(tmp_path: Path) -> None:
    items = history_data()
    items[1]["number"] = items[0]["number"]
    with pytest.raises(KnowledgeError, match="duplicate checklist numbers"):
        load_facts(data_copy(tmp_path, {"history": items}))


def test_adding_a_history_item_is_one_data_edit(tmp_path: Path) -> None:
    items = [
        *history_data(),
        {"id": "knee_pain", "number": 7, "label": "Knee pain", "words": "knee"},
    ]
    knowledge = load_facts(data_copy(tmp_path, {"history": items}))
    history = next(s for s in build_steps(knowledge) if s.name == "history")
    assert "7. Knee pain" in history.prompt
    assert "a:hist:knee_pain" in [b.payload for row in history.buttons for b in row]
    assert history.parse("7").tick == ("knee_pain",)
    assert history.parse("my knee hurts").tick == ("knee_pain",)


# -- steps carry where their answer goes ------------------------------------------------------


def test_each_step_fills_the_field_it_names() -> None:
    steps = build_steps()
    answers: dict[str, Any] = {}
    for n, step in enumerate(steps, 1):
        if step.target in {"red_flags", "history"}:
            answers[step.slot] = []
        elif step.target == "heel_valgus":
            answers[step.slot] = {"left": True, "right": False}
        else:
            answers[step.slot] = n
    assert next_step(steps, answers) is None
    data = assessment_input(steps, answers).model_dump()
    for n, step in enumerate(steps, 1):
        top, _, side = step.target.partition(".")
        if side:
            assert data[top][side] == n, step.target


def test_a_step_whose_target_is_not_a_field_stops_start_up(tmp_path: Path) -> None:
    steps = yaml.safe_load((DATA_DIR / "self_test_steps.yaml").read_text())
    steps[1]["target"] = "squat_reps.left"
    knowledge = load_facts(data_copy(tmp_path, {"self_test_steps": steps}))
    with pytest.raises(ValueError, match=r"unknown target 'squat_reps\.left'"):
        build_steps(knowledge)


# -- words are data ---------------------------------------------------------------------------


def test_program_and_findings_words_come_from_the_data() -> None:
    knowledge = load_facts()
    text = knowledge.assessment_text
    edited = knowledge.model_copy(
        update={
            "assessment_text": text.model_copy(
                update={
                    "program": text.program.model_copy(update={"day": "Session {day}{focus}"}),
                    "findings": text.findings.model_copy(update={"none": "All clear."}),
                }
            )
        }
    )
    result = assess(
        AssessmentInput.model_validate(
            {
                "straight_knee_reps": {"left": 30, "right": 30},
                "bent_knee_reps": {"left": 30, "right": 30},
            }
        )
    )
    assert result.program is not None
    assert "Session A" in program_text(result.program, edited)
    assert findings_text(result, edited).startswith("All clear.")


def test_a_reason_quoting_words_not_in_the_guide_is_refused(tmp_path: Path) -> None:
    text = yaml.safe_load((DATA_DIR / "assessment_text.yaml").read_text())
    text["reasons"]["standing"]["quote"] = "Calves love ten thousand reps a day."
    with pytest.raises(KnowledgeError, match=r"reasons\.standing"):
        load_facts(data_copy(tmp_path, {"assessment_text": text}))


# -- the house ----------------------------------------------------------------------------------


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_assessment_imports_nothing_above_it_and_rules_and_program_stay_apart() -> None:
    package = REPO / "bot" / "assessment"
    for path in package.glob("*.py"):
        above = {
            m
            for m in imports_of(path)
            if m.startswith(("bot.storage", "bot.engine", "bot.telegram"))
        }
        assert not above, (path.name, above)
    assert "bot.assessment.program" not in imports_of(package / "rules.py")
    assert "bot.assessment.rules" not in imports_of(package / "program.py")


def test_weekly_sets_bound_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    data = AssessmentInput.model_validate(
        {
            "straight_knee_reps": {"left": 30, "right": 30},
            "bent_knee_reps": {"left": 30, "right": 30},
        }
    )
    assert assess(data).program is not None
    narrow = program_module.WEEKLY_SETS.__class__((10, 11), program_module.WEEKLY_SETS.quote)
    monkeypatch.setattr(program_module, "WEEKLY_SETS", narrow)
    with pytest.raises(ValueError, match="outside 10-11"):
        assess(data)


# -- what is already stored still loads ----------------------------------------------------------


def test_a_result_stored_before_these_changes_loads_and_reads() -> None:
    stored = AssessmentResult.model_validate_json(
        (STORED / "result_before_issue_15.json").read_text()
    )
    assert stored.program is not None and stored.notes == () and stored.urgency is None
    plan = program_text(stored.program)
    assert "Day A" in plan and "Day B" in plan
    assert findings_text(stored).startswith("Here is what your numbers show")


def test_a_half_done_test_saved_before_these_changes_resumes() -> None:
    saved = {
        "user_id": "u",
        "assessment": {
            "answers": {"red_flags": [], "straight_left": 20, "straight_right": 19},
            "order": [["red_flags"], ["straight_left"], ["straight_right"]],
            "history_draft": [],
        },
    }
    state = ConversationState.model_validate(saved)
    steps = build_steps()
    assert next_step(steps, state.assessment.answers).slot == "bent_left"  # type: ignore[union-attr]
