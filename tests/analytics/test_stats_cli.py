"""`picobanana stats` and `picobanana list` from the command line."""

from __future__ import annotations

import importlib.util
import json

import pytest
from click.testing import CliRunner
from conftest import REPO

from picobanana.cli.main import cli
from picobanana.store import Policy, Store, save_policy
from picobanana.store.paging import AttemptFilter, iter_attempts


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("bench_synth", REPO / "bench" / "synth.py")
    synth = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(synth)
    path = tmp_path_factory.mktemp("cli") / "ws"
    synth.build_workspace(path, 2500, seed=3, quiet=True)
    with Store.open(path) as store:
        save_policy(store, Policy(name="lenient", threshold=0.4), created_by="t")
    return path


def run(*args: str):
    result = CliRunner().invoke(cli, list(args))
    return result


def test_stats_prints_tables_with_paper_rates(workspace):
    result = run("-w", str(workspace), "stats")
    assert result.exit_code == 0, result.output
    assert "By category" in result.output and "By edit type" in result.output
    assert "Human-Centric" in result.output
    assert "90.7%" in result.output  # the paper's rate for "Add film grain or vintage filter"
    assert "Judge vs human" in result.output


def test_stats_json_is_the_whole_report(workspace):
    result = run("-w", str(workspace), "stats", "--json", "--histogram", "--bins", "8")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["policy"] == "paper@1"
    assert report["totals"]["attempts"] == 2500
    film_grain = next(t for t in report["stats"]["edit_types"] if t["edit_type_id"] == 2)
    assert film_grain["paper_success"] == pytest.approx(0.9068)
    assert film_grain["attempt_pass_rate"] == pytest.approx(film_grain["keep"] / (film_grain["keep"]
                                                                                  + film_grain["fail"]))
    assert [h["measure"] for h in report["histograms"]] == ["score", "compliance", "seamlessness",
                                                            "preservation", "quality"]
    assert all(len(h["counts"]) == 8 for h in report["histograms"])


def test_stats_under_another_policy_keeps_more(workspace):
    strict = json.loads(run("-w", str(workspace), "stats", "--json").output)
    lenient = json.loads(run("-w", str(workspace), "stats", "--json", "--policy", "lenient").output)
    assert lenient["policy"] == "lenient@1"
    assert lenient["stats"]["total"]["keep"] > strict["stats"]["total"]["keep"]
    assert run("-w", str(workspace), "stats", "--policy", "nope").exit_code == 2


def test_stats_histogram_draws_bars_and_marks_the_threshold(workspace):
    result = run("-w", str(workspace), "stats", "--by", "category", "--histogram")
    assert result.exit_code == 0, result.output
    assert "By edit type" not in result.output
    assert "█" in result.output and "◀ threshold 0.7" in result.output
    assert "0.70–0.75" in result.output


def test_list_pages_through_with_the_printed_cursor(workspace):
    args = ["-w", str(workspace), "list", "--category", "object-level-semantic", "--verdict", "fail", "--json",
            "--limit", "25"]
    seen, cursor = [], None
    for _ in range(1000):
        result = run(*args, *(["--after", cursor] if cursor else []))
        assert result.exit_code == 0, result.output
        page = json.loads(result.output)
        seen += [item["attempt_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    with Store.open(workspace) as store:
        expected = [i.attempt_id for i in iter_attempts(store, AttemptFilter(category_id=2, verdict="fail"))]
    assert seen == expected and len(seen) > 25


def test_list_table_and_bad_options(workspace):
    result = run("-w", str(workspace), "list", "-t", "style-transfer", "-s", "score-asc", "-n", "5")
    assert result.exit_code == 0, result.output
    assert "style-transfer" in result.output and "next page: --after " in result.output
    bad = run("-w", str(workspace), "list", "--category", "no-such-category")
    assert bad.exit_code == 2 and "Error:" in bad.output
    bad = run("-w", str(workspace), "list", "--after", "%%%")
    assert bad.exit_code == 2 and "not a page cursor" in bad.output
