"""Fixtures for the Gemini backend tests: the wire-level fake server and a dummy API key in the environment."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from picobanana.backends.gemini.fake_server import FakeGemini

DUMMY_KEY = "AIzaDUMMY-picobanana-test-key-7f3e9c"


@pytest.fixture
def api_key(monkeypatch) -> str:
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.setenv("GEMINI_API_KEY", DUMMY_KEY)
    return DUMMY_KEY


@pytest.fixture
def fake(api_key):
    with FakeGemini() as server:
        yield server


@pytest.fixture
def photo() -> bytes:
    img = Image.new("RGB", (40, 30), (200, 60, 40))
    for x in range(0, 40, 3):
        img.putpixel((x, x % 30), (20, 220, 90))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()
