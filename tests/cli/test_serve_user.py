"""`picobanana user ...` and `picobanana serve` / `python app.py` from the command line."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from picobanana.cli.main import cli
from picobanana.curation.accounts import authenticate
from picobanana.store import Store

REPO = Path(__file__).resolve().parents[2]


def run(workspace: Path, *args: str, input: str | None = None):
    return CliRunner().invoke(cli, ["-w", str(workspace), *args], input=input)


def test_accounts_from_the_command_line(tmp_path):
    ws = tmp_path / "ws"
    added = run(ws, "user", "add", "ann", input="correct horse\ncorrect horse\n")  # prompt + confirmation
    assert added.exit_code == 0, added.output
    assert "correct horse" not in added.output
    assert run(ws, "user", "add", "ben", "--password-stdin", input="battery staple\n").exit_code == 0
    listed = run(ws, "user", "list")
    assert listed.exit_code == 0 and "ann" in listed.output and "ben" in listed.output
    with Store.open(ws) as store:
        assert authenticate(store, "ann", "correct horse") and authenticate(store, "ben", "battery staple")

    assert run(ws, "user", "passwd", "ann", "--password-stdin", input="new password!\n").exit_code == 0
    assert run(ws, "user", "disable", "ben").exit_code == 0
    assert "disabled" in run(ws, "user", "list").output
    with Store.open(ws) as store:
        assert authenticate(store, "ann", "new password!") and not authenticate(store, "ann", "correct horse")
        assert not authenticate(store, "ben", "battery staple")
    assert run(ws, "user", "enable", "ben").exit_code == 0
    assert run(ws, "user", "remove", "ben", "--yes").exit_code == 0
    assert "ben" not in run(ws, "user", "list").output


def test_account_mistakes_are_one_clear_line(tmp_path):
    ws = tmp_path / "ws"
    mismatch = run(ws, "user", "add", "ann", input="correct horse\ncorrect hors\ncorrect horse\ncorrect horse\n")
    assert mismatch.exit_code == 0 and "do not match" in mismatch.output  # asked again, then accepted
    for args, stdin, message in (
        (("user", "add", "ann", "--password-stdin"), "another one\n", "curator 'ann' already exists"),
        (("user", "add", "bad name", "--password-stdin"), "long enough\n", "invalid curator name"),
        (("user", "add", "cid", "--password-stdin"), "short\n", "password too short"),
        (("user", "passwd", "nobody", "--password-stdin"), "long enough\n", "no curator named 'nobody'"),
        (("user", "disable", "nobody"), None, "no curator named 'nobody'"),
    ):
        result = run(ws, *args, input=stdin)
        assert result.exit_code == 2 and f"Error: {message}" in result.output, (args, result.output)


def test_a_password_is_never_a_command_line_argument(tmp_path):
    result = run(tmp_path / "ws", "user", "add", "ann", "correct horse")
    assert result.exit_code == 2 and "unexpected extra argument" in result.output.lower()


def test_serve_refuses_to_open_to_the_network_without_an_account(tmp_path):
    ws = tmp_path / "ws"
    result = run(ws, "serve", "--host", "0.0.0.0", "--port", "1")
    assert result.exit_code == 2
    assert "create one with picobanana user add NAME" in result.output
    refused = run(ws, "serve", "--host", "0.0.0.0", "--no-auth")
    assert refused.exit_code == 2 and "refusing to serve on 0.0.0.0 without login" in refused.output
    forced = run(ws, "serve", "--auth")  # login on localhost too: needs an account as well
    assert forced.exit_code == 2 and "picobanana user add NAME" in forced.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_python_app_py_serves_the_studio_on_localhost(tmp_path):
    port = _free_port()
    env = {**os.environ, "PICOBANANA_CURATOR": "ann"}
    process = subprocess.Popen([sys.executable, str(REPO / "app.py"), "--port", str(port), "-w", str(tmp_path / "ws")],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=5) as response:
                    config = response.read().decode()
                break
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None, process.stdout.read()
                assert time.monotonic() < deadline, "the studio did not start within 120 s"
                time.sleep(0.5)
        assert "picobanana studio" in config  # no login on localhost: the whole app is there
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert "picobanana demo" in output  # an empty workspace gets a hint where data comes from
    assert "decisions are made as 'ann'" in output and str(tmp_path / "ws") in output


def test_serve_over_https_with_a_login(tmp_path):
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    ws = tmp_path / "ws"
    assert run(ws, "user", "add", "ann", "--password-stdin", input="correct horse\n").exit_code == 0
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "picobanana", "-w", str(ws), "serve", "--host", "0.0.0.0",
                                "--port", str(port), "--ssl-certfile", str(cert), "--ssl-keyfile", str(key)],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        import httpx

        base = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                refused = httpx.get(f"{base}/gradio_api/info", verify=False, timeout=5)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read()
                assert time.monotonic() < deadline, "the studio did not start within 120 s"
                time.sleep(0.5)
        assert refused.status_code == 401
        with httpx.Client(verify=False, timeout=10) as client:
            assert client.post(f"{base}/login", data={"username": "ann", "password": "correct horse"}).is_success
            assert client.get(f"{base}/gradio_api/info").status_code == 200
        with pytest.raises(httpx.TransportError):  # plain HTTP is not served at all
            httpx.get(f"http://127.0.0.1:{port}/gradio_api/info", timeout=5)
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert "unencrypted" not in output


def test_a_busy_port_is_one_clear_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = run(tmp_path / "ws", "serve", "--port", str(busy.getsockname()[1]))
    assert result.exit_code == 1 and "Error: cannot listen on 127.0.0.1:" in result.output
