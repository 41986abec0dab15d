"""LocalEditor and LocalJudge through the backend protocols: hints, free text, typed failures, size limits."""

from __future__ import annotations

import asyncio
import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from picobanana.backends.base import Editor, EditRequest, Judge, JudgeRequest
from picobanana.backends.local.editor import LocalEditor
from picobanana.backends.local.image_bytes import BadImage, decode
from picobanana.backends.local.judge import LocalJudge
from picobanana.backends.local.ops.common import rgb_to_lab
from picobanana.backends.local.specs import SUPPORTED, ToneSpec
from picobanana.store.policies import Policy


def _png(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def chelsea_png() -> bytes:
    return _png(cv2.resize(data.chelsea(), (192, 128), interpolation=cv2.INTER_AREA))


def _huge_png_header(width: int, height: int) -> bytes:
    """A valid PNG whose header claims width x height but whose data is tiny (a decompression-bomb shape)."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_protocols_are_implemented():
    assert isinstance(LocalEditor(), Editor) and isinstance(LocalJudge(), Judge)


def test_edit_from_hint_then_judge_keeps_it(chelsea_png):
    hint = ToneSpec(direction="cool", strength=0.7).model_dump()
    result = asyncio.run(LocalEditor().edit(EditRequest(image=chelsea_png, instruction="(ignored)", edit_type_id=1,
                                                        hint=hint)))
    assert result.status == "ok" and result.image and result.model
    before = np.asarray(Image.open(io.BytesIO(chelsea_png)).convert("RGB"))
    after = np.asarray(Image.open(io.BytesIO(result.image)).convert("RGB"))
    assert rgb_to_lab(after)[..., 2].mean() < rgb_to_lab(before)[..., 2].mean() - 5  # bluer

    verdict = asyncio.run(LocalJudge().judge(JudgeRequest(original=chelsea_png, edited=result.image,
                                                          instruction="(ignored)", edit_type_id=1, hint=hint)))
    assert verdict.compliance >= 0.8 and Policy().keeps(verdict.overall)
    assert "Δb*" in verdict.rationale


def test_edit_and_judge_from_free_text_without_hint(chelsea_png):
    editor, judge = LocalEditor(), LocalJudge()
    warm = asyncio.run(editor.edit(EditRequest(image=chelsea_png, instruction="Make the photo warmer", edit_type_id=1)))
    assert warm.status == "ok"
    ok = asyncio.run(judge.judge(JudgeRequest(original=chelsea_png, edited=warm.image,
                                              instruction="Make the photo warmer", edit_type_id=1)))
    wrong = asyncio.run(judge.judge(JudgeRequest(original=chelsea_png, edited=warm.image,
                                                 instruction="Make the photo cooler", edit_type_id=1)))
    assert ok.compliance >= 0.8 and wrong.compliance < 0.5
    assert Policy().keeps(ok.overall) and not Policy().keeps(wrong.overall)


@pytest.mark.parametrize("edit_type_id", [t for t in range(1, 36) if t not in SUPPORTED])
def test_unsupported_types_are_reported_not_faked(chelsea_png, edit_type_id):
    result = LocalEditor().edit_sync(EditRequest(image=chelsea_png, instruction="do it", edit_type_id=edit_type_id))
    assert result.status == "unsupported" and result.image is None and result.reason


def test_unreadable_instruction_is_unsupported(chelsea_png):
    result = LocalEditor().edit_sync(EditRequest(image=chelsea_png, instruction="make it nicer", edit_type_id=1))
    assert result.status == "unsupported" and "instruction" in result.reason


def test_text_edit_without_visible_text_is_unsupported(chelsea_png):
    result = LocalEditor().edit_sync(EditRequest(image=chelsea_png, instruction="Replace 'OPEN' with 'SALE'",
                                                 edit_type_id=16))
    assert result.status == "unsupported" and "OCR" in result.reason


@pytest.mark.parametrize("payload", [b"", b"not an image", None], ids=["empty", "garbage", "truncated"])
def test_bad_bytes_are_invalid_input(chelsea_png, payload):
    image = chelsea_png[: len(chelsea_png) // 2] if payload is None else payload
    result = LocalEditor().edit_sync(EditRequest(image=image, instruction="make it warmer", edit_type_id=1))
    assert result.status == "invalid_input" and result.reason


@pytest.mark.parametrize(("width", "height"), [(9_000, 8_000), (10_000, 10_000), (200_000, 200_000)])
def test_images_above_64_megapixels_are_refused_before_decoding(width, height):
    bomb = _huge_png_header(width, height)  # 72 MP .. 40 GP claimed, ~100 bytes on disk
    result = LocalEditor().edit_sync(EditRequest(image=bomb, instruction="make it warmer", edit_type_id=1))
    assert result.status == "invalid_input"
    assert "64 MP limit" in result.reason or "decompression bomb" in result.reason
    with pytest.raises(BadImage):
        LocalJudge().judge_sync(JudgeRequest(original=bomb, edited=bomb, instruction="x", edit_type_id=1))


def test_alpha_and_palette_inputs_are_flattened_to_rgb():
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[..., 0] = 255  # transparent red: composited on white
    assert decode(_png(rgba)).shape == (16, 16, 3)
    assert tuple(decode(_png(rgba))[0, 0]) == (255, 255, 255)
    buf = io.BytesIO()
    Image.new("P", (16, 16), 3).save(buf, format="PNG")
    assert decode(buf.getvalue()).shape == (16, 16, 3)


def test_judge_without_a_verifier_says_compliance_was_not_measured(chelsea_png):
    img = np.asarray(Image.open(io.BytesIO(chelsea_png)).convert("RGB")).copy()
    img[40:80, 60:100] = (200, 30, 30)  # "something" was added; no verifier can tell whether it is a hat
    changed = _png(img)
    result = LocalJudge().judge_sync(JudgeRequest(original=chelsea_png, edited=changed,
                                                  instruction="add a hat", edit_type_id=20))
    assert result.compliance == 0.5 and "not measured" in result.rationale
    # ... but an unchanged output fails whatever was asked
    same = LocalJudge().judge_sync(JudgeRequest(original=chelsea_png, edited=chelsea_png,
                                                instruction="add a hat", edit_type_id=20))
    assert same.compliance == 0.0 and not Policy().keeps(same.overall)
