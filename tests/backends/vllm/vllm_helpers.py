"""Helpers for the vLLM backend tests: real PNG images."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw


def make_png(size: tuple[int, int] = (64, 48), colour: tuple[int, int, int] = (180, 90, 40)) -> bytes:
    img = Image.new("RGB", size, colour)
    ImageDraw.Draw(img).rectangle((size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2), fill=(20, 200, 120))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()
