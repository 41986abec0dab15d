"""Backend registry and the generate / jobs / cancel commands."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from pipeline.pipeline_helpers import add_sources

from picobanana.backends.base import Editor, InstructionWriter, Judge, Rewriter
from picobanana.backends.registry import backend_names, create_backend, register
from picobanana.cli.main import cli
from picobanana.errors import ConfigError
from picobanana.store import Store


def test_builtin_fake_backends_implement_the_protocols():
    assert isinstance(create_backend("writer", "fake"), InstructionWriter)
    assert isinstance(create_backend("rewriter", "fake"), Rewriter)
    assert isinstance(create_backend("editor", "fake", {"latency_s": 0.5}), Editor)
    assert isinstance(create_backend("judge", "fake"), Judge)
    assert {"fake", "local"} <= set(backend_names("editor"))


def test_unknown_backends_and_roles_are_clear_errors():
    with pytest.raises(ConfigError, match="no editor backend named 'nope'"):
        create_backend("editor", "nope")
    with pytest.raises(ConfigError, match="rejected its options"):
        create_backend("editor", "fake", {"colour": "red"})
    with pytest.raises(ConfigError, match="unknown backend role"):
        register("painter", "x", "x:y")


def test_a_plugin_registers_like_a_builtin():
    register("judge", "plugin-judge", "picobanana.backends.fake:create_judge")
    assert create_backend("judge", "plugin-judge").name == "fake"


def _ws(tmp_path, n=2):
    ws = tmp_path / "ws"
    with Store.open(ws) as store:
        add_sources(store, n)
    return ws


def test_dry_run_prints_plan_and_estimate_and_runs_nothing(tmp_path):
    ws = _ws(tmp_path)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"prices": {"fake": {"per_image": 0.05}},
                                "roles": {"editor": {"expected_images": 1}}}))
    result = CliRunner().invoke(cli, ["-w", str(ws), "generate", "--spec", str(spec), "--types", "1,film-grain",
                                      "--backend", "all=fake", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "items (source × edit type)" in result.output and "│ 4 " in result.output
    assert "$0.2000" in result.output  # 4 items × 1 image × $0.05 at minimum
    with Store.open(ws) as store:
        assert store.scalar("SELECT COUNT(*) FROM jobs") == 0


def test_generate_runs_and_jobs_lists_and_cancel_marks(tmp_path):
    ws = _ws(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["-w", str(ws), "generate", "--types", "1", "--backend", "all=fake", "--chains", "1",
                                 "--chain-turns", "2"])
    assert result.exit_code == 0, result.output
    assert "job 1: done" in result.output and "kept (edits)" in result.output
    listed = runner.invoke(cli, ["-w", str(ws), "jobs"])
    assert listed.exit_code == 0 and "done" in listed.output
    assert "done" in runner.invoke(cli, ["-w", str(ws), "cancel", "1"]).output  # a finished job stays done
    assert runner.invoke(cli, ["-w", str(ws), "resume", "1"]).exit_code == 2  # nothing to resume


def test_bad_flags_are_one_line_errors(tmp_path):
    ws = _ws(tmp_path)
    result = CliRunner().invoke(cli, ["-w", str(ws), "generate", "--backend", "painter=fake"])
    assert result.exit_code == 2 and "unknown role 'painter'" in result.output


def test_the_price_table_in_the_config_file_prices_every_job(tmp_path):
    ws = _ws(tmp_path)
    (ws / "picobanana.toml").write_text('[prices.fake]\nper_image = 0.05\n\n[prices.local]\nper_call = 1.0\n')
    result = CliRunner().invoke(cli, ["-w", str(ws), "generate", "--types", "1,film-grain", "--backend", "all=fake",
                                      "--spec", str(_expect_one_image(tmp_path)), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "$0.2000" in result.output  # 4 items × 1 image × $0.05, from the TOML price table


def _expect_one_image(tmp_path):
    spec = tmp_path / "expect.json"
    spec.write_text(json.dumps({"roles": {"editor": {"expected_images": 1}}}))
    return spec


def test_backend_flags_take_a_bare_name_and_merge_role_options_over_all():
    from picobanana.cli.generate import build_spec

    spec = build_spec(None, None, None, None, 0, (), ("gemini", "judge=local"),
                      ('editor={"preset": "paper"}', '{"base_url": "http://127.0.0.1:9", "timeout_s": 5}'),
                      (), (), (), None, None, None, None, None)
    assert [spec.role(r).backend for r in ("writer", "rewriter", "editor", "judge")] == \
        ["gemini", "gemini", "gemini", "local"]
    # `all` is applied first whatever the order on the command line; the editor keeps the base URL too.
    assert spec.role("editor").options == {"base_url": "http://127.0.0.1:9", "timeout_s": 5, "preset": "paper"}
    assert spec.role("writer").options == {"base_url": "http://127.0.0.1:9", "timeout_s": 5}
    with pytest.raises(ConfigError, match="expected a JSON object"):
        build_spec(None, None, None, None, 0, (), (), ("all=[1]",), (), (), (), None, None, None, None, None)
