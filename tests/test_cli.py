"""The real ``calfcoach`` command, run as a user would, against the session's index."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

CONTRACT = {"question", "in_scope", "red_flag", "answer", "sources", "passages", "triage"}


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
    assert payload["triage"] is None


def test_ask_json_names_the_red_flags_and_their_urgency(cli_env: dict[str, str]) -> None:
    question = "calf pain since my 14 hour flight and now I'm short of breath"
    result = run(["ask", "--json", question], cli_env)
    payload = json.loads(result.stdout)
    assert payload["red_flag"] is True
    assert payload["triage"]["urgency"] == "emergency"
    assert payload["triage"]["flags"][0] == "suspected_pe"
    assert payload["answer"].startswith("EMERGENCY")


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


def test_batch_conversation_lines_run_through_the_dialog_engine(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    """Lines sharing a conversation id are turns of one chat, in file order; the others
    are answered alone, as before, and the output keeps the line order."""
    batch = tmp_path / "chat.jsonl"
    lines = [
        {"q": "my calves are weak, why?", "conversation": "a"},
        {"q": "what is plantar flexion"},
        {
            "q": "felt a sudden pop at the back of my ankle and now I can't walk",
            "conversation": "b",
        },
        {"q": "who won the world cup in 2018", "conversation": "a"},
        {"q": "how many sets a week should I do for calves?", "conversation": "c"},
        {"q": "x", "conversation": 7},
    ]
    batch.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    result = run(["ask", "--json", "--batch", str(batch)], cli_env)
    out = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert result.returncode == 2 and len(out) == 6, result.stderr
    assert set(out[0]) >= CONTRACT and out[0]["conversation"] == "a"
    assert out[0]["in_scope"] is True and "soleus" in out[0]["answer"].lower()
    assert out[0]["sources"] and out[0]["passages"]
    assert set(out[1]) == CONTRACT and out[1]["in_scope"] is True
    assert out[2]["red_flag"] is True and out[2]["kind"] == "red_flag"
    assert out[3]["in_scope"] is False and out[3]["kind"] == "out_of_scope"
    assert "10 to 15" in out[4]["answer"].lower() or "ten to 15" in out[4]["answer"].lower()
    assert "conversation" in out[5]["error"]
    assert b"Traceback" not in result.stderr


def test_eval_reports_conversations_and_client_questions(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    chats = [
        {
            "id": "1",
            "turns": [
                {"q": "how many sets a week for calves?", "any": ["10 to 15", "ten to 15"]},
                {"q": "I heard a pop in my achilles and can't walk", "refer": True},
            ],
        },
        {
            "id": "2",
            "turns": [
                {"q": "what exercises for weak soleus?", "any": ["seated calf raise"]},
                {"q": "who won the world cup in 2018", "any": ["soleus"]},
            ],
        },
    ]
    (tmp_path / "conversations.jsonl").write_text("\n".join(json.dumps(c) for c in chats))
    (tmp_path / "client_questions.jsonl").write_text(
        '{"q": "how many reps for gastrocnemius", "any": ["8 to 15"]}\n'
    )
    (tmp_path / "near_domain_out_of_scope.jsonl").write_text(
        '{"q": "whats a good recipe for banana bread"}\n'
    )
    result = run(["eval", str(tmp_path), "--json"], cli_env)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)["conversations"][str(tmp_path)]
    assert figures["conversations"] == 2
    assert (figures["first_turns"], figures["first_turns_right"]) == (2, 1.0)
    assert (figures["follow_ups"], figures["follow_ups_right"]) == (2, 0.5)
    assert figures["follow_ups_declined"] == 1
    assert (figures["refer_turns"], figures["refer_right"]) == (1, 1.0)
    assert (figures["client_questions"], figures["client_questions_right"]) == (1, 1.0)
    assert (figures["near_domain"], figures["near_domain_declined"]) == (1, 1.0)


def test_batch_lines_are_split_on_newlines_only_with_per_line_errors(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    """A raw U+2028 inside a JSON string stays inside its line; a deeply nested, a
    non-UTF-8, a binary and an empty line each get their own error; the batch goes on."""
    deep = b'{"q": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    shallow_but_deep = b'{"q": "x", "n": ' + b"[" * 100 + b"]" * 100 + b"}"
    lines = [
        '{"q": "what is plantar flexion\u2028and the soleus"}'.encode(),
        deep,
        b'{"q": "how do I fix a weak soleus"}',
        b'{"q": "caf\xe9"}',
        b"\x00\x01binary",
        b"",
        shallow_but_deep,
        '{"q": "why are my calves weak?\u2029"}'.encode() + b"\r",
    ]
    batch = tmp_path / "q.jsonl"
    batch.write_bytes(b"\n".join(lines) + b"\n")
    result = run(["ask", "--json", "--batch", str(batch)], cli_env)
    out = result.stdout.split(b"\n")
    assert out[-1] == b"" and len(out) - 1 == len(lines), result.stdout
    rows = [json.loads(line) for line in out[:-1]]
    assert result.returncode == 2
    assert rows[0]["question"] == "what is plantar flexion and the soleus"
    assert "line 2" in rows[1]["error"] and "deeper" in rows[1]["error"]
    assert "seated calf raise" in rows[2]["answer"].lower()
    assert "line 4" in rows[3]["error"] and "UTF-8" in rows[3]["error"]
    assert "line 5" in rows[4]["error"] and "binary" in rows[4]["error"]
    assert "line 6" in rows[5]["error"] and "empty" in rows[5]["error"]
    assert "line 7" in rows[6]["error"] and "deeper" in rows[6]["error"]
    assert rows[7]["in_scope"] is True
    assert all(len(line.decode().splitlines()) == 1 for line in out[:-1])
    assert b"Traceback" not in result.stderr


def test_unbounded_input_is_refused_within_seconds(tmp_path: Path, cli_env: dict[str, str]) -> None:
    import time

    started = time.monotonic()
    result = run(["ask", "--json", "--batch", "/dev/zero"], cli_env)
    took = time.monotonic() - started
    assert result.returncode == 2 and b"larger than" in result.stderr, result.stderr
    assert took < 5, took
    big = tmp_path / "big.jsonl"
    with big.open("wb") as handle:
        handle.truncate(200 * 1024 * 1024)  # sparse: 200 MB without writing them
    started = time.monotonic()
    result = run(["ask", "--batch", str(big)], cli_env)
    assert result.returncode == 2 and b"larger than" in result.stderr
    assert time.monotonic() - started < 5
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "ask", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env,
    )
    chunk = b"calf " * 200_000  # 1 MB
    assert process.stdin is not None
    try:
        for _ in range(100):  # 100 MB, unless the command stops reading first
            process.stdin.write(chunk)
    except BrokenPipeError:
        pass
    finally:
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
    process.wait(timeout=60)
    assert process.stderr is not None
    stderr = process.stderr.read()
    took = time.monotonic() - started
    assert process.returncode == 2 and b"larger than" in stderr, stderr
    assert took < 5, took
