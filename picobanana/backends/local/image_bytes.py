"""Decode/encode images for the local backend with size limits checked before any pixel is decompressed."""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps

MAX_PIXELS = 64_000_000  # refuse larger inputs: a 64 MP RGB image is already ~200 MB of pixels


class BadImage(ValueError):
    """Not a decodable image, or an absurd size."""


def decode(data: bytes, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """uint8 RGB array; raises BadImage."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            w, h = img.size  # header only: nothing decompressed yet
            if w * h > max_pixels:
                raise BadImage(f"image is {w}x{h} = {w * h / 1e6:.1f} MP, above the {max_pixels / 1e6:.0f} MP limit")
            if w < 8 or h < 8:
                raise BadImage(f"image is {w}x{h}, too small to edit")
            img = ImageOps.exif_transpose(img)
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                rgba = img.convert("RGBA")
                background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                img = Image.alpha_composite(background, rgba)
            rgb = img.convert("RGB")
            rgb.load()
    except BadImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadImage(f"decompression bomb refused: {exc}") from exc
    except Exception as exc:  # PIL raises many types for corrupt/truncated files
        raise BadImage(f"cannot decode image: {type(exc).__name__}: {exc}") from exc
    return np.asarray(rgb).copy()


def encode_png(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", compress_level=1)  # speed over size: stored once, reread often
    return buf.getvalue()
