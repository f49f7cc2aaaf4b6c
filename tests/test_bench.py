"""``calfcoach bench`` runs end to end and writes comparable figures (no timing asserted)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bot.settings import Settings
from tooling.bench import format_bench, run_bench


@pytest.mark.slow  # ~30-60 s; `make test-slow` runs it, and CI (.ci/run) runs that
def test_quick_bench_measures_every_figure_and_writes_json(
    settings: Settings, index_dir: Path, tmp_path: Path
) -> None:
    figures = run_bench(settings, tmp_path, quick=True)
    written = json.loads(Path(figures["json_path"]).read_text())
    assert written["questions"] == 40
    for name in ("single", "in_flight_64"):
        assert written[name]["n"] >= 40 and written[name]["p50_ms"] > 0
    assert written["naive"]["single"]["n"] == 40
    assert written["speedup_single_p50"] > 0
    # The cold-start process reports its own memory, not the bench's (torch is loaded here).
    assert 0 < written["cold_start"]["peak_rss_mb"] < written["bench_process_peak_rss_mb"]
    e2e = written["telegram_e2e"]
    assert 0 < e2e["open_loop"]["n"] <= 300 and 0 < e2e["closed_loop"]["n"] <= 200
    assert math.isfinite(e2e["bot_peak_rss_mb"])
    for case in ("long", "short"):
        assert written["report"][case]["png"]["p50_ms"] > 0
        assert written["report"][case]["pdf"]["n"] == 3
    assert written["triage"]["messages"] == 40
    assert 0 < written["triage"]["added_per_answer_p50"] < written["single"]["p50_ms"]
    table = format_bench(figures)
    assert "triage added per answer" in table
    assert "naive baseline" in table and figures["json_path"] in table
    assert "report (long): content + PNG" in table
