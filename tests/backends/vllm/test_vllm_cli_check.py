"""`picobanana backends check` against the loopback fake: which roles answer and which models they serve."""

from __future__ import annotations

import json

from click.testing import CliRunner

from picobanana.backends.vllm.fake_server import FakeVllmServer
from picobanana.cli.main import cli


def _check(tmp_path, *args):
    return CliRunner().invoke(cli, ["-w", str(tmp_path / "ws"), "backends", "check", "--json", *args])


def test_check_reports_each_role_and_its_model(tmp_path, server):
    options = json.dumps({"base_url": server.url})
    result = _check(tmp_path, "--backend", "writer=vllm", "--backend", "judge=vllm", "--backend", "editor=vllm",
                    "--backend-options", f"writer={options}", "--backend-options", f"judge={options}",
                    "--backend-options", f"editor={options}", "--backend", "rewriter=fake")
    assert result.exit_code == 0, result.output
    rows = {row["role"]: row for row in json.loads(result.output)}
    assert rows["judge"]["ok"] is True and rows["judge"]["model"] == "judge" and "editor" in rows["judge"]["served"]
    assert rows["editor"]["ok"] is True and rows["editor"]["detail"] == "serving"
    assert rows["rewriter"]["ok"] is None and rows["rewriter"]["detail"] == "not checkable"


def test_check_fails_with_exit_code_1_when_a_service_is_down(tmp_path):
    with FakeVllmServer() as dead:
        url = dead.url
    result = _check(tmp_path, "--backend", "all=vllm", "--backend-options", "all=" + json.dumps({"base_url": url}))
    assert result.exit_code == 1
    rows = json.loads(result.output)
    assert all(row["ok"] is False and "connection failed" in row["detail"] for row in rows)
