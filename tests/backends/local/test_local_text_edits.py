"""Text edits read back with the shipped OCR model: add, replace and recolour text on a photo with a sign."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw
from skimage import data

from picobanana.backends.local.editor import apply
from picobanana.backends.local.judge import score_pair
from picobanana.backends.local.ops.text import font
from picobanana.backends.local.specs import AddTextSpec, ReplaceTextSpec, TextColorSpec
from picobanana.store.policies import Policy

PAPER = Policy()
SIGN_BOX = (50, 55, 275, 125)


@pytest.fixture(scope="module")
def sign():
    """A real photo (coffee) with a cream sign reading OPEN in near-black, at a known place."""
    pil = Image.fromarray(cv2.resize(data.coffee(), (320, 200), interpolation=cv2.INTER_AREA))
    draw = ImageDraw.Draw(pil)
    draw.rectangle((40, 50, 280, 130), fill=(245, 240, 225))
    draw.text((60, 62), "OPEN", font=font(52), fill=(20, 20, 20))
    return np.asarray(pil).copy()


CASES = [
    (17, AddTextSpec(text="HELLO", color="yellow", position="top"),
     AddTextSpec(text="SALE", color="yellow", position="top")),
    (16, ReplaceTextSpec(old="OPEN", new="SALE"), ReplaceTextSpec(old="OPEN", new="CAFE")),  # box found by OCR
    (16, ReplaceTextSpec(old="OPEN", new="SALE", box=SIGN_BOX), ReplaceTextSpec(old="OPEN", new="CAFE", box=SIGN_BOX)),
    (18, TextColorSpec(color="red", text="OPEN"), TextColorSpec(color="blue", text="OPEN")),
]


@pytest.mark.parametrize(("edit_type_id", "spec", "wrong"), CASES, ids=["add", "replace-ocr", "replace-box", "colour"])
def test_text_edit_passes_identity_and_wrong_fail(sign, edit_type_id, spec, wrong):
    edited = apply(sign, spec, seed=1)
    good = score_pair(sign, edited, spec, edit_type_id)
    assert good.compliance >= 0.8 and PAPER.keeps(good.overall), good.rationale
    assert "ocr_after" in good.rationale or "glyph_ΔE" in good.rationale

    identity = score_pair(sign, sign, spec, edit_type_id)
    assert identity.compliance < 0.5 and not PAPER.keeps(identity.overall), identity.rationale

    bad = score_pair(sign, apply(sign, wrong, seed=1), spec, edit_type_id)
    assert bad.compliance < 0.5 and not PAPER.keeps(bad.overall), bad.rationale


def test_replace_changes_only_the_sign_and_reads_back(sign):
    edited = apply(sign, ReplaceTextSpec(old="OPEN", new="SALE", box=SIGN_BOX), seed=1)
    outside = np.ones(sign.shape[:2], bool)
    outside[40:140, 30:290] = False
    assert np.array_equal(edited[outside], sign[outside])
    assert not np.array_equal(edited, sign)


def test_recolour_turns_the_glyphs_red(sign):
    edited = apply(sign, TextColorSpec(color="red", box=SIGN_BOX), seed=1)
    x0, y0, x1, y1 = SIGN_BOX
    before, after = sign[y0:y1, x0:x1].reshape(-1, 3), edited[y0:y1, x0:x1].reshape(-1, 3)
    dark = before.sum(axis=1) < 150  # the original near-black glyph pixels
    assert dark.sum() > 300
    r, g, b = np.median(after[dark], axis=0)
    assert r > 180 and g < 80 and b < 80


def test_recolour_with_a_loose_ocr_box_leaves_the_surroundings_alone(sign):
    loose = (20, 30, 300, 150)  # overshoots the sign into the photo, as OCR boxes on real signs often do
    edited = apply(sign, TextColorSpec(color="red", box=loose), seed=1)
    outside_sign = np.ones(sign.shape[:2], bool)
    outside_sign[50:131, 40:281] = False
    assert np.array_equal(edited[outside_sign], sign[outside_sign])
    result = score_pair(sign, edited, TextColorSpec(color="red", box=loose), 18)
    assert result.compliance >= 0.8 and PAPER.keeps(result.overall), result.rationale
