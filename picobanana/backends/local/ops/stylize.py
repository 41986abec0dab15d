"""Photo -> cartoon / sketch / comic, and strong painterly styles (oil, watercolor, pointillism)."""

from __future__ import annotations

import random

import cv2
import numpy as np

from ..specs import CartoonSpec, PaintSpec
from .common import to_float, to_uint8


def _quantise(img: np.ndarray, k: int, seed: int) -> np.ndarray:
    # Fit the palette on at most ~65k pixels (k-means cost grows with pixels, the palette does not),
    # then map every pixel to its nearest palette colour in row chunks to bound memory.
    h, w = img.shape[:2]
    s = min(1.0, 256 / max(h, w))
    sample = img if s == 1 else cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))),
                                           interpolation=cv2.INTER_AREA)
    cv2.setRNGSeed(seed)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0)
    _, _, centres = cv2.kmeans(sample.reshape(-1, 3).astype(np.float32), k, None, criteria, 1,
                               cv2.KMEANS_PP_CENTERS)
    out = np.empty_like(img)
    palette = centres.astype(np.float32)
    for y in range(0, h, 256):
        block = img[y:y + 256].reshape(-1, 1, 3).astype(np.float32)
        nearest = ((block - palette[None]) ** 2).sum(axis=2).argmin(axis=1)
        out[y:y + 256] = np.clip(palette[nearest] + 0.5, 0, 255).astype(np.uint8).reshape(img[y:y + 256].shape)
    return out


WORK_SIDE = 1024  # painterly/flat looks have no fine detail: compute them at most this size, then upscale


def _down(img: np.ndarray, side: int = WORK_SIDE) -> np.ndarray:
    h, w = img.shape[:2]
    s = side / max(h, w)
    return img if s >= 1 else cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)


def _up(img: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if img.shape[:2] == shape[:2]:
        return img
    return cv2.resize(img, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


def _edges(img: np.ndarray, block: int = 9, c: int = 5) -> np.ndarray:
    g = cv2.medianBlur(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), 5)
    return cv2.adaptiveThreshold(g, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, c) == 0


def cartoon(img: np.ndarray, spec: CartoonSpec, rng: random.Random) -> np.ndarray:
    seed = rng.getrandbits(31)
    if spec.style == "sketch":
        # Pencil: colour dodge of the gray image by its blurred negative, then darken the contour lines.
        g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
        blur = cv2.GaussianBlur(255 - g, (0, 0), 6)
        dodge = np.clip(g * 255 / np.maximum(255 - blur, 1), 0, 255)
        out = dodge.astype(np.uint8)
        return np.repeat(out[..., None], 3, axis=2)
    smooth = _down(img)
    for _ in range(3):
        smooth = cv2.bilateralFilter(smooth, 7, 40, 7)
    # Upscale nearest-neighbour so the palette stays flat (no in-between colours at region borders).
    flat = _quantise(smooth, 8 if spec.style == "cartoon" else 6, seed)
    flat = cv2.resize(flat, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_NEAREST)
    edges = _edges(img, 9, 5 if spec.style == "cartoon" else 3)
    out = flat.copy()
    out[edges] = (20, 20, 20)
    if spec.style == "comic":
        # Halftone dots in the darker flat regions.
        h, w = img.shape[:2]
        y, x = np.mgrid[0:h, 0:w]
        dots = ((x % 5 - 2) ** 2 + (y % 5 - 2) ** 2) <= 1
        dark = cv2.cvtColor(flat, cv2.COLOR_RGB2GRAY) < 110
        out[dots & dark & ~edges] = (10, 10, 10)
    return out


def paint(img: np.ndarray, spec: PaintSpec, rng: random.Random) -> np.ndarray:
    if spec.style != "pointillism" and max(img.shape[:2]) > WORK_SIDE:
        return _up(paint(_down(img), spec, rng), img.shape)
    h, w = img.shape[:2]
    nrng = np.random.default_rng(rng.getrandbits(32))
    if spec.style == "oil painting":
        # Morphological open/close with a round brush flattens fine texture into paint dabs;
        # a directional stroke texture and a light emboss suggest impasto.
        size = max(5, round(min(h, w) / 40) | 1)  # dab size follows the picture, not the pixel count
        brush = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
        dabs = cv2.morphologyEx(cv2.morphologyEx(img, cv2.MORPH_OPEN, brush), cv2.MORPH_CLOSE, brush)
        dabs = cv2.bilateralFilter(dabs, 9, 60, 9)
        strokes = cv2.filter2D(nrng.normal(0, 1, (h, w)).astype(np.float32), -1,
                               np.eye(9, dtype=np.float32) / 9)
        f = to_float(dabs)
        hsv_img = cv2.cvtColor(f, cv2.COLOR_RGB2HSV)
        hsv_img[..., 1] = np.clip(hsv_img[..., 1] * 1.3, 0, 1)
        f = cv2.cvtColor(hsv_img, cv2.COLOR_HSV2RGB)
        return to_uint8(np.clip(f * (1 + 0.12 * strokes[..., None]), 0, 1))
    if spec.style == "watercolor":
        washed = cv2.stylization(cv2.cvtColor(img, cv2.COLOR_RGB2BGR), sigma_s=40, sigma_r=0.5)
        washed = cv2.cvtColor(washed, cv2.COLOR_BGR2RGB)
        f = to_float(washed) * 0.85 + 0.15  # pigment over white paper
        paper = cv2.GaussianBlur(nrng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 1.2)
        paper /= paper.std() + 1e-6
        return to_uint8(np.clip(f * (1 + 0.04 * paper[..., None]), 0, 1))
    # pointillism: coloured dots of the blurred image on light canvas, jittered grid
    canvas = np.full_like(img, 238)
    src = cv2.GaussianBlur(img, (0, 0), 2)
    step = max(3, min(h, w) // 70)
    radius = max(2, int(step * 0.9))
    ys, xs = np.mgrid[0:h:step, 0:w:step]
    pts = np.stack([xs.ravel(), ys.ravel()], 1) + nrng.integers(-step // 2, step // 2 + 1, (xs.size, 2))
    pts = np.clip(pts, 0, [w - 1, h - 1])
    for i in nrng.permutation(len(pts)):
        x, y = int(pts[i, 0]), int(pts[i, 1])
        colour = np.clip(src[y, x].astype(int) + nrng.integers(-25, 26, 3), 0, 255)
        cv2.circle(canvas, (x, y), radius, tuple(int(v) for v in colour), -1, lineType=cv2.LINE_AA)
    return canvas
