"""Edit specs: sampling, free-text parsing, hint round trip."""

from __future__ import annotations

import random

import pytest

from picobanana.backends.local.analysis import Box, TextBox
from picobanana.backends.local.specs import (
    SUPPORTED,
    AddTextSpec,
    CartoonSpec,
    EraSpec,
    LightingSpec,
    NotEligible,
    OutpaintSpec,
    PaintSpec,
    ReplaceTextSpec,
    SeasonSpec,
    TextColorSpec,
    ToneSpec,
    WeatherSpec,
    ZoomSpec,
    parse_spec,
    sample_spec,
    spec_from_hint,
)


class _Facts:
    brightness = 0.5
    text = (TextBox(text="OPEN", score=0.95, box=Box(x0=10, y0=20, x1=90, y1=50)),)


@pytest.mark.parametrize("edit_type_id", sorted(SUPPORTED))
def test_sample_is_reproducible_and_round_trips_as_hint(edit_type_id):
    a = sample_spec(edit_type_id, random.Random(7), _Facts())
    b = sample_spec(edit_type_id, random.Random(7), _Facts())
    assert a == b and isinstance(a, SUPPORTED[edit_type_id])
    assert spec_from_hint(edit_type_id, a.model_dump()) == a


def test_samples_vary_with_the_seed():
    seen = {sample_spec(1, random.Random(seed), None).direction for seed in range(20)}
    assert seen == {"warm", "cool"}


@pytest.mark.parametrize("edit_type_id", [16, 18])
def test_text_types_need_ocr_boxes(edit_type_id):
    with pytest.raises(NotEligible):
        sample_spec(edit_type_id, random.Random(0), None)
    spec = sample_spec(edit_type_id, random.Random(0), _Facts())
    assert spec.box == (10, 20, 90, 50)


def test_unsupported_type_is_not_sampled():
    with pytest.raises(KeyError):
        sample_spec(3, random.Random(0), None)
    assert parse_spec(3, "add a red balloon") is None


@pytest.mark.parametrize(
    ("edit_type_id", "text", "expected"),
    [
        (1, "Make it warmer", ToneSpec(direction="warm")),
        (1, "give the photo a cold, blue cast", ToneSpec(direction="cool")),
        (12, "Relight the scene as if at golden hour", LightingSpec(mode="golden hour")),
        (12, "harsh fluorescent office light", LightingSpec(mode="fluorescent")),
        (10, "turn the scene into winter", SeasonSpec(to="winter")),
        (10, "make it look like fall", SeasonSpec(to="autumn")),
        (11, "add heavy rain", WeatherSpec(kind="rain")),
        (11, "make it foggy", WeatherSpec(kind="fog")),
        (13, "repaint it as a watercolor", PaintSpec(style="watercolor")),
        (14, "turn it into a pencil sketch", CartoonSpec(style="sketch")),
        (15, "make it look like a sepia photo from the 1920s", EraSpec(to="historical", look="1920s sepia")),
        (34, "zoom in 2x on the cup", ZoomSpec(factor=2.0)),
        (35, "extend the canvas to the left", OutpaintSpec(sides=("left",))),
        (17, 'Add the text "HELLO" in red at the top', AddTextSpec(text="HELLO", color="red", position="top")),
        (16, "Replace 'OPEN' with 'CLOSED'", ReplaceTextSpec(old="OPEN", new="CLOSED")),
        (18, "make the text blue", TextColorSpec(color="blue")),
    ],
)
def test_parse_free_text(edit_type_id, text, expected):
    assert parse_spec(edit_type_id, text) == expected


@pytest.mark.parametrize(("edit_type_id", "text"), [(1, "make it nicer"), (17, "add some text"), (16, "change the sign")])
def test_parse_returns_none_when_nothing_actionable(edit_type_id, text):
    assert parse_spec(edit_type_id, text) is None
