"""Measured facts about one image: size, brightness, contrast, dominant colours, warmth, text, faces.

The facts ground the local writer's instructions ("the dark blue sky", "the sign that reads OPEN") and decide
which edit types an image is eligible for (text types need OCR text, human-centric types need a face).
Everything runs on CPU from models that ship inside installed packages:

    OCR    rapidocr 3.10 (PP-OCR det/rec ONNX models inside the wheel) on onnxruntime
    faces  scikit-image's LBP frontal-face cascade (an XML file inside the wheel)

`ocr()` is also used by the editor (to find text to replace) and by the judge (to read the text back).
"""

from __future__ import annotations

import colorsys
import threading
from typing import Literal

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

# Analysis works on a downscaled copy: colours and brightness do not need more, and OCR/face detection costs
# grow with the pixel count. 1024 px keeps sign text legible; faces are searched at 512 px.
_OCR_SIDE = 1024
_FACE_SIDE = 512
_COLOUR_SIDE = 96
# Below this recognition score an OCR line is mostly noise on photos (textures read as letters).
MIN_TEXT_SCORE = 0.6


class Box(BaseModel):
    """Axis-aligned box in pixels of the analysed image: x0, y0 inclusive; x1, y1 exclusive."""

    model_config = ConfigDict(frozen=True)

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)


class TextBox(BaseModel):
    """One line of text found by OCR, with its recognition score and its box in the input image's pixels."""

    model_config = ConfigDict(frozen=True)

    text: str
    score: float
    box: Box

    # Flat accessors, so callers can write tb.x0 without going through .box.
    @property
    def x0(self) -> int:
        return self.box.x0

    @property
    def y0(self) -> int:
        return self.box.y0

    @property
    def x1(self) -> int:
        return self.box.x1

    @property
    def y1(self) -> int:
        return self.box.y1


class Colour(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str  # human name, e.g. "dark blue"
    rgb: tuple[int, int, int]
    share: float = Field(ge=0, le=1)  # fraction of the image's pixels closest to this colour


class Facts(BaseModel):
    """What the analyser measured. Values in [0, 1] unless stated."""

    model_config = ConfigDict(frozen=True)

    width: int
    height: int
    brightness: float  # mean luma
    contrast: float  # standard deviation of luma (0.0 flat … ~0.5 pure black/white)
    saturation: float  # mean HSV saturation
    warmth: float = Field(ge=-1, le=1)  # mean (R − B) / 255: > 0 warm, < 0 cool
    colours: tuple[Colour, ...] = ()  # dominant colours, largest share first
    text: tuple[TextBox, ...] = ()
    faces: tuple[Box, ...] = ()

    @property
    def orientation(self) -> Literal["landscape", "portrait", "square"]:
        if abs(self.width - self.height) <= 0.05 * max(self.width, self.height):
            return "square"
        return "landscape" if self.width > self.height else "portrait"

    @property
    def has_text(self) -> bool:
        return bool(self.text)

    @property
    def has_person(self) -> bool:
        return bool(self.faces)

    @property
    def light(self) -> Literal["dark", "dim", "balanced", "bright"]:
        if self.brightness < 0.25:
            return "dark"
        if self.brightness < 0.42:
            return "dim"
        if self.brightness < 0.65:
            return "balanced"
        return "bright"

    @property
    def tone(self) -> Literal["warm", "cool", "neutral"]:
        if self.warmth > 0.04:
            return "warm"
        if self.warmth < -0.04:
            return "cool"
        return "neutral"

    @property
    def colour_names(self) -> tuple[str, ...]:
        """Distinct names of the dominant colours, largest first."""
        return tuple(dict.fromkeys(c.name for c in self.colours))


# ---------------------------------------------------------------------------------------------------- OCR

_engine = None
_engine_lock = threading.Lock()
# rapidocr's __call__ updates parameters on the engine object, so concurrent calls could mix them up.
_call_lock = threading.Lock()


def _ocr_engine():
    """The one RapidOCR instance, created on first use (loading the three ONNX models takes ~1 s)."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                import logging

                from rapidocr import RapidOCR

                # rapidocr logs every model check at INFO and "detection result is empty" at WARNING for
                # every image without text: keep the CLI's output for our own messages. The engine resets its
                # logger's level from its config, so quieten the logger's own console handler instead.
                for handler in logging.getLogger("RapidOCR").handlers:
                    handler.setLevel(logging.ERROR)
                _engine = RapidOCR()
    return _engine


def ocr(image: Image.Image, *, min_score: float = MIN_TEXT_SCORE, max_side: int = _OCR_SIDE) -> list[TextBox]:
    """Lines of text in the image, top-to-bottom then left-to-right, with boxes in the input's pixels.

    Large images are downscaled to `max_side` for speed; boxes are scaled back.
    """
    rgb = image.convert("RGB")
    scale = 1.0
    if max(rgb.size) > max_side:
        scale = max(rgb.size) / max_side
        rgb = rgb.resize((round(rgb.width / scale), round(rgb.height / scale)), Image.Resampling.LANCZOS)
    engine = _ocr_engine()
    with _call_lock:
        result = engine(np.ascontiguousarray(np.asarray(rgb)[:, :, ::-1]))  # rapidocr wants BGR arrays
    if result.boxes is None or result.txts is None:
        return []
    found = []
    for points, text, score in zip(result.boxes, result.txts, result.scores, strict=True):
        text = text.strip()
        # Lone glyphs ("8", "0") are what OCR hallucinates on photo textures; real signs have words.
        if score < min_score or sum(ch.isalnum() for ch in text) < 2:
            continue
        pts = np.asarray(points, dtype=float) * scale
        box = Box(
            x0=max(0, int(np.floor(pts[:, 0].min()))),
            y0=max(0, int(np.floor(pts[:, 1].min()))),
            x1=min(image.width, int(np.ceil(pts[:, 0].max()))),
            y1=min(image.height, int(np.ceil(pts[:, 1].max()))),
        )
        found.append(TextBox(text=text, score=round(float(score), 4), box=box))
    return _reading_order(found)


def _reading_order(boxes: list[TextBox]) -> list[TextBox]:
    """Top to bottom by line (a box whose vertical centre falls in the current line joins it), then left to right."""
    lines: list[list[TextBox]] = []
    for box in sorted(boxes, key=lambda t: t.box.y0):
        centre = (box.box.y0 + box.box.y1) / 2
        if lines and lines[-1][0].box.y0 <= centre <= lines[-1][0].box.y1:
            lines[-1].append(box)
        else:
            lines.append([box])
    return [box for line in lines for box in sorted(line, key=lambda t: t.box.x0)]


# -------------------------------------------------------------------------------------------------- faces

_cascade_local = threading.local()  # skimage's Cascade keeps scratch state: one per thread


def _cascade():
    cascade = getattr(_cascade_local, "cascade", None)
    if cascade is None:
        from skimage import data
        from skimage.feature import Cascade

        cascade = _cascade_local.cascade = Cascade(data.lbp_frontal_face_cascade_filename())
    return cascade


def detect_faces(image: Image.Image) -> list[Box]:
    """Frontal faces (LBP cascade), boxes in the input's pixels, largest first.

    The cascade is weak: it finds frontal faces larger than ~1/10 of the short side and misses profiles.
    A detection must be supported by 8 overlapping raw hits: at 4, a cat's face and a microscopy texture passed.
    """
    gray = image.convert("L")
    scale = 1.0
    if max(gray.size) > _FACE_SIDE:
        scale = max(gray.size) / _FACE_SIDE
        gray = gray.resize((round(gray.width / scale), round(gray.height / scale)), Image.Resampling.BILINEAR)
    pixels = np.asarray(gray, dtype=np.float64) / 255.0
    short = min(pixels.shape)
    min_side = max(24, short // 10)
    hits = _cascade().detect_multi_scale(
        img=pixels, scale_factor=1.2, step_ratio=1, min_size=(min_side, min_side), max_size=(short, short),
        min_neighbor_number=8, intersection_score_threshold=0.5,
    )
    boxes = [
        Box(x0=int(h["c"] * scale), y0=int(h["r"] * scale),
            x1=int((h["c"] + h["width"]) * scale), y1=int((h["r"] + h["height"]) * scale))
        for h in hits
    ]
    return sorted(boxes, key=lambda b: -b.area)


# ------------------------------------------------------------------------------------------------ colours


def colour_name(rgb: tuple[int, int, int]) -> str:
    """A plain English name for an sRGB colour ("dark blue", "beige", "grey"), from its HSV coordinates."""
    h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in rgb))
    if v < 0.16:
        return "black"
    if s < 0.14 or (s < 0.22 and v < 0.5):
        if v > 0.86:
            return "white"
        return "light grey" if v > 0.62 else ("dark grey" if v < 0.36 else "grey")
    hue = h * 360
    if hue < 15 or hue >= 345:
        base = "red"
    elif hue < 40:
        base = "orange"
    elif hue < 65:
        base = "yellow"
    elif hue < 160:
        base = "green"
    elif hue < 195:
        base = "teal"
    elif hue < 255:
        base = "blue"
    elif hue < 290:
        base = "purple"
    else:
        base = "pink"
    # Browns and beiges are dark or washed-out oranges/yellows/reds: name them as people do.
    if base in ("orange", "yellow", "red") and v < 0.6 and s > 0.25:
        return "dark brown" if v < 0.35 else "brown"
    if base in ("orange", "yellow") and s < 0.4 and v > 0.6:
        return "beige"
    if base == "red" and s < 0.5 and v > 0.7:
        return "pink"
    if v < 0.4:
        return f"dark {base}"
    if s < 0.4 and v > 0.75:
        return f"light {base}"
    return base


def dominant_colours(image: Image.Image, count: int = 5) -> tuple[Colour, ...]:
    """Median-cut palette of a downscaled copy; colours under 3 % of the pixels are dropped."""
    small = image.convert("RGB")
    small.thumbnail((_COLOUR_SIDE, _COLOUR_SIDE), Image.Resampling.BILINEAR)
    quantised = small.quantize(colors=count, method=Image.Quantize.MEDIANCUT)
    palette = quantised.getpalette() or []
    total = small.width * small.height
    colours = []
    for pixels, index in sorted(quantised.getcolors() or [], reverse=True):
        share = pixels / total
        if share < 0.03:
            continue
        rgb = tuple(palette[3 * index: 3 * index + 3])
        colours.append(Colour(name=colour_name(rgb), rgb=rgb, share=round(share, 4)))
    return tuple(colours)


# ---------------------------------------------------------------------------------------------- analysis


def analyse(image: Image.Image, *, text: bool = True, faces: bool = True) -> Facts:
    """Measure the image. OCR (~0.5 s) and face detection (~0.1 s) can be skipped when not needed."""
    rgb = image.convert("RGB")
    small = rgb.copy()
    small.thumbnail((256, 256), Image.Resampling.BILINEAR)
    arr = np.asarray(small, dtype=np.float32) / 255.0
    luma = arr @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    hsv = np.asarray(small.convert("HSV"), dtype=np.float32) / 255.0
    warmth = float(np.clip((arr[..., 0] - arr[..., 2]).mean(), -1, 1))
    return Facts(
        width=rgb.width,
        height=rgb.height,
        brightness=round(float(luma.mean()), 4),
        contrast=round(float(luma.std()), 4),
        saturation=round(float(hsv[..., 1].mean()), 4),
        warmth=round(warmth, 4),
        colours=dominant_colours(rgb),
        text=tuple(ocr(rgb)) if text else (),
        faces=tuple(detect_faces(rgb)) if faces else (),
    )
