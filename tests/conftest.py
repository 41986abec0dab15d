"""Shared fixtures. The Pico-Banana sample records live outside the repository, in ../shared (see README)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PICO_FIXTURES = Path(os.environ.get("PICOBANANA_FIXTURES", REPO.parent / "shared" / "fixtures" / "pico-banana"))


@pytest.fixture(scope="session")
def pico_fixtures() -> Path:
    if not (PICO_FIXTURES / "sft-sample.jsonl").is_file():
        pytest.fail(f"Pico-Banana fixtures not found at {PICO_FIXTURES}; set PICOBANANA_FIXTURES")
    return PICO_FIXTURES


@pytest.fixture
def store(tmp_path):
    from picobanana.store import Store

    with Store.open(tmp_path / "ws") as opened:
        yield opened
