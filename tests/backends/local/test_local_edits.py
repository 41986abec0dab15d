"""Every non-text local edit: it changes the image in the intended direction (measured), the verifier passes it,
an identity "edit" and a wrong edit fail compliance and the paper-weighted verdict."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from picobanana.backends.local.editor import apply
from picobanana.backends.local.judge import score_pair
from picobanana.backends.local.metrics import hf, noise
from picobanana.backends.local.ops.common import gray, hsv, rgb_to_lab
from picobanana.backends.local.specs import (
    CartoonSpec,
    EraSpec,
    GrainSpec,
    LightingSpec,
    OutpaintSpec,
    PaintSpec,
    SeasonSpec,
    ToneSpec,
    WeatherSpec,
    ZoomSpec,
)
from picobanana.store.policies import Policy

PAPER = Policy()


@pytest.fixture(scope="module", params=["astronaut", "coffee", "chelsea"])
def photo(request):
    img = getattr(data, request.param)()
    h, w = img.shape[:2]
    s = 240 / max(h, w)
    return cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)


def _lab(img, c):
    return float(rgb_to_lab(img)[..., c].mean())


def _chroma_spread(img):
    lab = rgb_to_lab(img)
    return float(lab[..., 1].std() + lab[..., 2].std())


def _sat(img):
    return float(hsv(img)[..., 1].mean())


def _std(img):
    return float(gray(img).std())


# (edit type, spec, wrong edit, measured direction: f(original, edited) -> bool)
CASES = [
    (1, ToneSpec(direction="warm"), ToneSpec(direction="cool"), lambda a, b: _lab(b, 2) > _lab(a, 2) + 5),
    (1, ToneSpec(direction="cool"), ToneSpec(direction="warm"), lambda a, b: _lab(b, 2) < _lab(a, 2) - 5),
    (2, GrainSpec(look="film grain"), ToneSpec(direction="warm"), lambda a, b: noise(b) > noise(a) + 0.004),
    (2, GrainSpec(look="vintage"), ToneSpec(direction="cool"),
     lambda a, b: noise(b) > noise(a) and _chroma_spread(b) < 0.8 * _chroma_spread(a)),
    (12, LightingSpec(mode="golden hour"), LightingSpec(mode="fluorescent"), lambda a, b: _lab(b, 2) > _lab(a, 2) + 5),
    (12, LightingSpec(mode="fluorescent"), LightingSpec(mode="golden hour"), lambda a, b: _lab(b, 2) < _lab(a, 2) - 3),
    (12, LightingSpec(mode="dusk"), LightingSpec(mode="golden hour"), lambda a, b: _lab(b, 0) < _lab(a, 0) - 8),
    (10, SeasonSpec(to="winter"), SeasonSpec(to="summer"), lambda a, b: _sat(b) < 0.7 * _sat(a)),
    (10, SeasonSpec(to="winter"), ToneSpec(direction="cool"), lambda a, b: _lab(b, 0) > _lab(a, 0) + 3),  # not just a cast
    (10, SeasonSpec(to="summer"), SeasonSpec(to="winter"), lambda a, b: _sat(b) > _sat(a)),
    (10, SeasonSpec(to="autumn"), SeasonSpec(to="winter"), lambda a, b: _lab(b, 2) > _lab(a, 2) + 3),
    (11, WeatherSpec(kind="rain"), WeatherSpec(kind="fog"), lambda a, b: _lab(b, 0) < _lab(a, 0)),
    (11, WeatherSpec(kind="snow"), WeatherSpec(kind="rain"), lambda a, b: (gray(b) > 0.9).mean() > (gray(a) > 0.9).mean()),
    (11, WeatherSpec(kind="fog"), WeatherSpec(kind="snow"), lambda a, b: _std(b) < 0.75 * _std(a)),
    (13, PaintSpec(style="oil painting"), GrainSpec(look="film grain"), lambda a, b: hf(b).std() < 0.9 * hf(a).std()),
    (13, PaintSpec(style="watercolor"), CartoonSpec(style="cartoon"), lambda a, b: _sat(b) < 0.8 * _sat(a)),
    (13, PaintSpec(style="pointillism"), GrainSpec(look="film grain"), lambda a, b: noise(b) > noise(a)),
    (14, CartoonSpec(style="cartoon"), CartoonSpec(style="sketch"),
     lambda a, b: len(np.unique(b.reshape(-1, 3), axis=0)) < 20),
    (14, CartoonSpec(style="sketch"), CartoonSpec(style="cartoon"), lambda a, b: _sat(b) < 0.02),
    (14, CartoonSpec(style="comic"), CartoonSpec(style="sketch"), lambda a, b: (gray(b) < 0.1).mean() > 0.05),
    (15, EraSpec(to="historical", look="1920s sepia"), EraSpec(to="modern", look="crisp modern digital"),
     lambda a, b: _chroma_spread(b) < 0.1 * _chroma_spread(a)),
    (15, EraSpec(to="historical", look="faded 1970s film"), EraSpec(to="modern", look="crisp modern digital"),
     lambda a, b: _chroma_spread(b) < 0.6 * _chroma_spread(a)),
    (15, EraSpec(to="modern", look="crisp modern digital"), EraSpec(to="historical"), lambda a, b: _sat(b) > _sat(a)),
    (34, ZoomSpec(factor=1.6, center=(0.5, 0.5)), OutpaintSpec(), lambda a, b: b.shape == a.shape),
    (34, ZoomSpec(factor=2.2, center=(0.4, 0.55)), ZoomSpec(factor=1.2), lambda a, b: b.shape == a.shape),
    (35, OutpaintSpec(sides=("left", "right"), ratio=0.25), ZoomSpec(),
     lambda a, b: b.shape[1] == a.shape[1] + 2 * round(a.shape[1] * 0.25) and b.shape[0] == a.shape[0]),
    (35, OutpaintSpec(sides=("top",), ratio=0.3), OutpaintSpec(sides=("left",), ratio=0.3),
     lambda a, b: b.shape[0] == a.shape[0] + round(a.shape[0] * 0.3)),
]


def _ids():
    return [f"{t}-{'-'.join(str(v) for v in s.model_dump().values())}"[:40] for t, s, _, _ in CASES]


@pytest.mark.parametrize(("edit_type_id", "spec", "wrong", "direction"), CASES, ids=_ids())
def test_edit_passes_and_identity_and_wrong_edits_fail(photo, edit_type_id, spec, wrong, direction):
    edited = apply(photo, spec, seed=3)
    assert edited.dtype == np.uint8 and edited.ndim == 3
    assert direction(photo, edited), "the edit did not move the image in the intended direction"

    good = score_pair(photo, edited, spec, edit_type_id)
    assert good.compliance >= 0.8, good.rationale
    assert PAPER.keeps(good.overall), good.rationale
    assert good.overall == pytest.approx(PAPER.score((good.compliance, good.seamlessness, good.preservation,
                                                      good.quality)))

    identity = score_pair(photo, photo, spec, edit_type_id)
    assert identity.compliance < 0.5, identity.rationale
    assert not PAPER.keeps(identity.overall), identity.rationale

    wrong_out = apply(photo, wrong, seed=3)
    bad = score_pair(photo, wrong_out, spec, edit_type_id)
    assert bad.compliance < 0.5, bad.rationale
    assert not PAPER.keeps(bad.overall), bad.rationale


def test_edits_are_reproducible_for_a_seed(photo):
    spec = WeatherSpec(kind="snow")
    assert np.array_equal(apply(photo, spec, seed=5), apply(photo, spec, seed=5))
    assert not np.array_equal(apply(photo, spec, seed=5), apply(photo, spec, seed=6))


def test_rationale_lists_measured_values(photo):
    result = score_pair(photo, apply(photo, ToneSpec(direction="warm"), 0), ToneSpec(direction="warm"), 1)
    for needle in ("Δb*", "SSIM", "noise σ", "blockiness", "overall"):
        assert needle in result.rationale


@pytest.fixture(scope="module")
def large_photo():
    # 1280 px: above the judge's 256 px and the stylisers' 1024 px working sizes
    return cv2.resize(data.coffee(), (1280, 853), interpolation=cv2.INTER_CUBIC)


@pytest.mark.parametrize(
    ("edit_type_id", "spec"),
    [(11, WeatherSpec(kind="snow")), (11, WeatherSpec(kind="rain")), (2, GrainSpec()), (13, PaintSpec(style="oil painting")),
     (13, PaintSpec(style="watercolor")), (14, CartoonSpec(style="comic")), (35, OutpaintSpec(sides=("left", "top")))],
)
def test_resolution_dependent_edits_also_verify_on_a_large_photo(large_photo, edit_type_id, spec):
    result = score_pair(large_photo, apply(large_photo, spec, 1), spec, edit_type_id)
    assert result.compliance >= 0.8 and PAPER.keeps(result.overall), result.rationale
    assert not PAPER.keeps(score_pair(large_photo, large_photo, spec, edit_type_id).overall)
