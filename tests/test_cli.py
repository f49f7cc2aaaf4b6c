"""The real ``calfcoach`` command, run as a user would, against the session's index."""

from __future__ import annotations

import contextlib
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
    assert set(payload) == {"findings", "referral", "program"}
    assert payload["referral"] is False
    found = {f["id"]: f for f in payload["findings"]}
    assert found["bilateral_asymmetry"]["side"] == "left"
    assert found["peroneal_weakness"]["side"] == "left"
    assert found["tibialis_posterior_weakness"]["side"] == "right"
    assert set(found["overall_weakness"]) == {"id", "side", "evidence", "section"}
    program = payload["program"]
    assert {"sessions_per_week", "weekly_sets", "retest_after_weeks", "exercises", "notes"} == set(
        program
    )
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
    }
    assert any(e["id"] == "eccentric_calf_raise" for e in program["exercises"])


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
