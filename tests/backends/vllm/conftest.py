"""Fixtures for the vLLM backend tests: a loopback OpenAI-compatible fake server and real PNG images."""

from __future__ import annotations

import pytest
from backends.vllm.vllm_helpers import make_png

from picobanana.backends.vllm.fake_server import FakeVllmServer


@pytest.fixture
def server():
    with FakeVllmServer(slow_s=3.0) as fake:
        yield fake
    assert fake.violations == [], f"the client sent malformed requests: {fake.violations}"


@pytest.fixture
def png() -> bytes:
    return make_png()
