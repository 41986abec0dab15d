"""LocalEditor: honest classical image processing for the edit types in specs.SUPPORTED.

Parameters come from request.hint (a spec dump from the local writer) or, failing that, from keyword parsing
of the instruction text. Types the editor cannot do, or instructions it cannot read, come back `unsupported`
with a reason — never a faked image. CPU work runs in a thread so the pipeline's event loop keeps going.
"""

from __future__ import annotations

import asyncio
import difflib
import random

import numpy as np
from PIL import Image

from picobanana.backends.base import EditRequest, EditResult

from . import image_bytes
from .ops import colour, film, geometry, stylize, text, weather
from .specs import (
    SUPPORTED,
    AddTextSpec,
    Box,
    CartoonSpec,
    EraSpec,
    GrainSpec,
    LightingSpec,
    OutpaintSpec,
    PaintSpec,
    ReplaceTextSpec,
    SeasonSpec,
    Spec,
    TextColorSpec,
    ToneSpec,
    WeatherSpec,
    ZoomSpec,
    box_of,
    parse_spec,
    spec_from_hint,
)

MODEL = "picobanana-local-editor"
VERSION = "1"

_OPS = {
    ToneSpec: colour.tone,
    LightingSpec: colour.lighting,
    SeasonSpec: colour.season,
    EraSpec: colour.era,
    GrainSpec: film.grain,
    WeatherSpec: weather.weather,
    CartoonSpec: stylize.cartoon,
    PaintSpec: stylize.paint,
    ZoomSpec: geometry.zoom,
    OutpaintSpec: geometry.outpaint,
    AddTextSpec: text.add_text,
}


class NoTarget(Exception):
    """The instruction names text the image does not show."""


def resolve_spec(edit_type_id: int, hint: dict | None, instruction: str) -> Spec | None:
    return spec_from_hint(edit_type_id, hint) or parse_spec(edit_type_id, instruction)


def _ocr_boxes(img: np.ndarray):
    from .analysis import ocr  # rapidocr loads lazily: only text edits pay for it

    return ocr(Image.fromarray(img))


def find_text_box(img: np.ndarray, wanted: str | None) -> Box:
    boxes = _ocr_boxes(img)
    if not boxes:
        raise NoTarget("no visible text found by OCR")
    if wanted is None:
        return box_of(max(boxes, key=lambda b: b.score))

    def similarity(b) -> float:
        return difflib.SequenceMatcher(None, wanted.casefold(), b.text.casefold()).ratio()

    best = max(boxes, key=similarity)
    if similarity(best) < 0.6:
        raise NoTarget(f"text {wanted!r} not found by OCR (read: {[b.text for b in boxes]})")
    return box_of(best)


def apply(img: np.ndarray, spec: Spec, seed: int = 0) -> np.ndarray:
    """Run the op for `spec` on a uint8 RGB array (raises NoTarget for text edits without their text)."""
    rng = random.Random(seed)
    if isinstance(spec, ReplaceTextSpec):
        return text.replace_text(img, spec, spec.box or find_text_box(img, spec.old), rng)
    if isinstance(spec, TextColorSpec):
        return text.recolour_text(img, spec, spec.box or find_text_box(img, spec.text), rng)
    return _OPS[type(spec)](img, spec, rng)


class LocalEditor:
    name = "local"

    def __init__(self, max_pixels: int = image_bytes.MAX_PIXELS):
        self.max_pixels = max_pixels

    async def edit(self, request: EditRequest) -> EditResult:
        return await asyncio.to_thread(self.edit_sync, request)

    def edit_sync(self, request: EditRequest) -> EditResult:
        def result(status, **kw) -> EditResult:
            return EditResult(status=status, model=MODEL, model_version=VERSION, **kw)

        if request.edit_type_id not in SUPPORTED:
            return result("unsupported", reason=f"edit type {request.edit_type_id} has no classical implementation")
        spec = resolve_spec(request.edit_type_id, request.hint, request.instruction)
        if spec is None:
            return result("unsupported", reason="instruction names nothing the local editor can do for this type")
        try:
            img = image_bytes.decode(request.image, self.max_pixels)
        except image_bytes.BadImage as exc:
            return result("invalid_input", reason=str(exc))
        try:
            out = apply(img, spec, request.seed)
        except NoTarget as exc:
            return result("unsupported", reason=str(exc))
        return result("ok", image=image_bytes.encode_png(out))
