"""The real ``calfcoach`` command, run as a user would, against the session's index."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CONTRACT = {"question", "in_scope", "red_flag", "answer", "sources", "passages"}


def run(args: list[str], env: dict[str, str], stdin: bytes | None = None):
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_ask_json_prints_the_contract(cli_env: dict[str, str]) -> None:
    result = run(["ask", "--json", "how do I fix a weak soleus"], cli_env)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert set(payload) == CONTRACT
    assert payload["in_scope"] is True and payload["red_flag"] is False
    assert len(payload["passages"]) == 3
    assert {"section", "text", "score"} == set(payload["passages"][0])
    assert {"section", "score"} == set(payload["sources"][0])
    assert "seated calf raise" in payload["answer"].lower()


def test_batch_answers_in_order_and_reports_bad_lines(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    batch = tmp_path / "q.jsonl"
    batch.write_text(
        '{"q": "what is plantar flexion"}\nnot json\n{"q": ""}\n{"q": "sing me a song"}\n'
        '{"q": "my calf is swollen, red and warm"}\n'
    )
    result = run(["ask", "--json", "--batch", str(batch)], cli_env)
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert result.returncode == 2
    assert len(lines) == 5
    assert lines[0]["in_scope"] is True and lines[0]["question"] == "what is plantar flexion"
    assert "line 2" in lines[1]["error"] and "empty" in lines[2]["error"]
    assert lines[3]["in_scope"] is False
    assert lines[4]["red_flag"] is True
    assert b"Traceback" not in result.stderr


def test_bad_input_exits_non_zero_without_traceback(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\x00\x01\x02\xff")
    cases = [
        (["ask", ""], None, b"empty"),
        (["ask", "x" * 1001], None, b"under 1000"),
        (["ask", "-"], b"\x00\x7fELF", b"binary"),
        (["ask", "--json", "--batch", str(binary)], None, b"binary"),
        (["ask", "--batch", str(tmp_path / "missing.jsonl")], None, b"cannot read"),
    ]
    for args, stdin, expected in cases:
        result = run(args, cli_env, stdin)
        assert result.returncode == 2, (args, result.stderr)
        assert expected in result.stderr
        assert b"Traceback" not in result.stderr


def test_index_status_shows_the_manifest(cli_env: dict[str, str]) -> None:
    result = run(["index", "status"], cli_env)
    assert result.returncode == 0
    assert json.loads(result.stdout)["model_name"] == "all-MiniLM-L6-v2"


def test_assess_json_prints_findings_referral_and_program(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    results = tmp_path / "results.json"
    results.write_text(
        json.dumps(
            {
                "straight_knee_reps": {"left": 18, "right": 24},
                "bent_knee_reps": {"left": 9, "right": 16},
                "balance_seconds": {"left": 10, "right": 30},
                "heel_valgus": {"left": False, "right": True},
                "history": ["ankle_sprain", "achilles_pain"],
            }
        )
    )
    result = run(["assess", "--input", str(results), "--json"], cli_env)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert set(payload) == {"findings", "referral", "program", "notes", "urgency"}
    assert payload["referral"] is False
    found = {f["id"]: f for f in payload["findings"]}
    assert found["bilateral_asymmetry"]["side"] == "left"
    assert found["peroneal_weakness"]["side"] == "left"
    assert found["tibialis_posterior_weakness"]["side"] == "right"
    assert set(found["overall_weakness"]) == {"id", "side", "evidence", "section"}
    program = payload["program"]
    assert {
        "sessions_per_week",
        "weekly_sets",
        "retest_after_weeks",
        "exercises",
        "notes",
        "days",
        "seated_days",
        "plan_notes",
    } == set(program)
    line = program["exercises"][0]
    assert set(line) == {
        "id",
        "name",
        "sets",
        "reps",
        "tempo",
        "rest_s",
        "side",
        "priority_side",
        "why",
        "days",
        "hold_s",
        "each_leg",
    }
    # Overall weakness (18 and 24 reps): the eccentric protocol starts on both legs.
    assert any("eccentric protocol" in e["why"] for e in program["exercises"])


def test_assess_rejects_bad_files_naming_the_field(tmp_path: Path, cli_env: dict[str, str]) -> None:
    cases = {
        "negative.json": (
            '{"straight_knee_reps": {"left": -2, "right": 3}, '
            '"bent_knee_reps": {"left": 1, "right": 1}}',
            b"straight_knee_reps.left",
        ),
        "missing.json": ('{"straight_knee_reps": {"left": 2, "right": 3}}', b"bent_knee_reps"),
        "unknown.json": (
            '{"straight_knee_reps": {"left": 2, "right": 3}, "bent_knee_reps": '
            '{"left": 1, "right": 1}, "red_flags": ["migraine"]}',
            b"red_flags.0",
        ),
        "broken.json": ('{"straight_knee_reps": ', b"not valid JSON"),
    }
    for name, (content, expected) in cases.items():
        path = tmp_path / name
        path.write_text(content)
        result = run(["assess", "--input", str(path), "--json"], cli_env)
        assert result.returncode == 2, name
        assert expected in result.stderr, (name, result.stderr)
        assert b"Traceback" not in result.stderr and result.stdout == b""
