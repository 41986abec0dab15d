"""Zoom in (crop + upscale) and outpainting (canvas extension with a reflected, inpainted, softened fill)."""

from __future__ import annotations

import random

import cv2
import numpy as np

from ..specs import OutpaintSpec, ZoomSpec


def zoom_box(w: int, h: int, spec: ZoomSpec) -> tuple[int, int, int, int]:
    cw, ch = max(1, round(w / spec.factor)), max(1, round(h / spec.factor))
    x0 = round(float(np.clip(spec.center[0] * w - cw / 2, 0, w - cw)))
    y0 = round(float(np.clip(spec.center[1] * h - ch / 2, 0, h - ch)))
    return x0, y0, x0 + cw, y0 + ch


def zoom(img: np.ndarray, spec: ZoomSpec, rng: random.Random) -> np.ndarray:
    h, w = img.shape[:2]
    x0, y0, x1, y1 = zoom_box(w, h, spec)
    return cv2.resize(img[y0:y1, x0:x1], (w, h), interpolation=cv2.INTER_CUBIC)


def outpaint_pads(w: int, h: int, spec: OutpaintSpec) -> tuple[int, int, int, int]:
    """Pixels added on (left, top, right, bottom)."""
    px, py = round(w * spec.ratio), round(h * spec.ratio)
    return (px if "left" in spec.sides else 0, py if "top" in spec.sides else 0,
            px if "right" in spec.sides else 0, py if "bottom" in spec.sides else 0)


def outpaint(img: np.ndarray, spec: OutpaintSpec, rng: random.Random) -> np.ndarray:
    h, w = img.shape[:2]
    left, top, right, bottom = outpaint_pads(w, h, spec)
    # Reflection continues textures and colours; blurring it more the farther it gets from the original
    # hides the mirror symmetry. The original pixels are kept exactly.
    padded = cv2.copyMakeBorder(img, top, bottom, left, right, cv2.BORDER_REFLECT_101)
    H, W = padded.shape[:2]
    inside = np.zeros((H, W), np.uint8)
    inside[top:top + h, left:left + w] = 255
    dist = cv2.distanceTransform(255 - inside, cv2.DIST_L2, 5)
    far = np.clip(dist / max(1.0, max(left, top, right, bottom)), 0, 1)[..., None]
    blurred = cv2.GaussianBlur(padded, (0, 0), 6).astype(np.float32)
    out = padded.astype(np.float32) * (1 - far) + blurred * far
    out[top:top + h, left:left + w] = img
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
