"""Text edits: add a line of text, replace OCR-found text, recolour OCR-found text."""

from __future__ import annotations

import random
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..specs import COLORS, AddTextSpec, Box, ReplaceTextSpec, TextColorSpec

_FONT_FILES = ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",)


@lru_cache(maxsize=64)
def font(size: int) -> ImageFont.FreeTypeFont:
    for path in _FONT_FILES:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)  # Pillow's embedded font: always there


def rgb_of(name: str) -> tuple[int, int, int]:
    return COLORS.get(name.casefold(), COLORS["white"])


def _contrast(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    return (0, 0, 0) if sum(rgb) > 380 else (255, 255, 255)


def _fit(text: str, width: int, height: int) -> ImageFont.FreeTypeFont:
    size = max(8, height)
    while size > 8:
        x0, y0, x1, y1 = font(size).getbbox(text)
        if x1 - x0 <= width and y1 - y0 <= height:
            break
        size -= 1
    return font(size)


def add_text(img: np.ndarray, spec: AddTextSpec, rng: random.Random) -> np.ndarray:
    h, w = img.shape[:2]
    f = _fit(spec.text, int(w * 0.8), max(10, int(h * 0.14)))
    x0, y0, x1, y1 = f.getbbox(spec.text)
    tw, th = x1 - x0, y1 - y0
    margin = int(min(w, h) * 0.06)
    vertical, _, horizontal = spec.position.partition("-")
    if spec.position == "center":
        vertical, horizontal = "center", "center"
    x = {"left": margin, "right": w - margin - tw}.get(horizontal or "center", (w - tw) // 2)
    y = {"top": margin, "bottom": h - margin - th}.get(vertical, (h - th) // 2)
    pil = Image.fromarray(img)
    colour = rgb_of(spec.color)
    stroke = max(1, th // 12)
    ImageDraw.Draw(pil).text((x - x0, y - y0), spec.text, font=f, fill=colour, stroke_width=stroke,
                             stroke_fill=_contrast(colour))
    return np.asarray(pil).copy()


def text_mask(img: np.ndarray, box: Box) -> np.ndarray:
    """Glyph pixels of the text in `box` (an OCR box, often looser than the text and overlapping its sign).

    Otsu splits the box into two tones. Glyphs are many separate pieces that do not touch the (padded) box
    border, so the tone with more such pieces is the glyph tone (the other has the background, or the sign
    plus letter holes); only those inner pieces are kept, so the sign's surroundings are left alone even
    when they share the glyph tone.
    """
    h, w = img.shape[:2]
    pad = max(2, (box[3] - box[1]) // 10)
    x0, y0, x1, y1 = max(0, box[0] - pad), max(0, box[1] - pad), min(w, box[2] + pad), min(h, box[3] + pad)
    mask = np.zeros((h, w), bool)
    g = cv2.cvtColor(img[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY)
    if g.size == 0 or g.min() == g.max():
        return mask
    _, bw = cv2.threshold(g, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    min_area = max(4, (box[3] - box[1]) ** 2 // 400)  # ignore specks of noise

    gf = g.astype(np.float32) / 255

    def on_a_plate(piece: np.ndarray) -> bool:
        # Letters sit on a plain plate: the ring just outside the anti-aliased edge is one flat tone.
        # Dark/bright blobs of a photo inside a loose box have busy surroundings.
        ring = cv2.dilate(piece, np.ones((7, 7), np.uint8)) & ~cv2.dilate(piece, np.ones((3, 3), np.uint8))
        return bool(ring.any()) and float(gf[ring > 0].std()) < 0.08

    def inner_pieces(tone: np.ndarray) -> tuple[int, np.ndarray]:
        count, labels, stats, _ = cv2.connectedComponentsWithStats(tone.astype(np.uint8), connectivity=8)
        border = set(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]).tolist())
        keep = [i for i in range(1, count) if i not in border and stats[i, cv2.CC_STAT_AREA] >= min_area]
        plated = [i for i in keep if on_a_plate((labels == i).astype(np.uint8))]
        keep = plated or keep
        return len(keep), np.isin(labels, keep)

    bright = bw > 0
    n_dark, dark_mask = inner_pieces(~bright)
    n_bright, bright_mask = inner_pieces(bright)
    if n_dark == n_bright:  # no evidence either way: text is the minority tone
        glyphs = dark_mask if (~bright).mean() < 0.5 else bright_mask
    else:
        glyphs = dark_mask if n_dark > n_bright else bright_mask
    mask[y0:y1, x0:x1] = glyphs
    return mask


def _clamp(box: Box, w: int, h: int, pad: int = 0) -> Box:
    x0, y0, x1, y1 = box
    return max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad)


def replace_text(img: np.ndarray, spec: ReplaceTextSpec, box: Box, rng: random.Random) -> np.ndarray:
    h, w = img.shape[:2]
    box = _clamp(box, w, h)
    mask = text_mask(img, box)
    colour = tuple(int(v) for v in np.median(img[mask], axis=0)) if mask.any() else (0, 0, 0)
    # Remove the old glyphs: inpaint a slightly grown glyph mask so anti-aliased edges go too.
    grown = cv2.dilate(mask.astype(np.uint8) * 255, np.ones((5, 5), np.uint8))
    clean = cv2.inpaint(img, grown, 5, cv2.INPAINT_TELEA)
    x0, y0, x1, y1 = box
    f = _fit(spec.new, int((x1 - x0) * 0.95), int((y1 - y0) * 0.8))
    bx0, by0, bx1, by1 = f.getbbox(spec.new)
    x = x0 + ((x1 - x0) - (bx1 - bx0)) // 2 - bx0
    y = y0 + ((y1 - y0) - (by1 - by0)) // 2 - by0
    pil = Image.fromarray(clean)
    ImageDraw.Draw(pil).text((x, y), spec.new, font=f, fill=colour)
    return np.asarray(pil).copy()


def recolour_text(img: np.ndarray, spec: TextColorSpec, box: Box, rng: random.Random) -> np.ndarray:
    h, w = img.shape[:2]
    box = _clamp(box, w, h)
    mask = text_mask(img, box)
    # Soft mask so anti-aliased glyph edges blend instead of turning into a hard-edged halo.
    soft = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 0.6)[..., None]
    soft = np.maximum(soft, mask[..., None].astype(np.float32))
    target = np.array(rgb_of(spec.color), np.float32)
    out = img.astype(np.float32) * (1 - soft) + target * soft
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
