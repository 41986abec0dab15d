"""Image measurements for the metric judge: structure similarity, sharpness, noise, clipping, blockiness, seams.

All functions take uint8 RGB arrays; `small` brings images to the judge's working size so every measure costs
about the same whatever the input resolution.
"""

from __future__ import annotations

import cv2
import numpy as np
from skimage.metrics import structural_similarity

from .ops.common import gray

JUDGE_SIDE = 256


def ramp(x: float, lo: float, hi: float) -> float:
    """0 below lo, 1 above hi, linear between (hi < lo makes it decreasing)."""
    return float(np.clip((x - lo) / (hi - lo), 0.0, 1.0))


def small(img: np.ndarray, side: int = JUDGE_SIDE) -> np.ndarray:
    h, w = img.shape[:2]
    scale = side / max(h, w)
    if scale >= 1:
        return img
    return cv2.resize(img, (max(8, round(w * scale)), max(8, round(h * scale))), interpolation=cv2.INTER_AREA)


def resize_to(img: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if img.shape[:2] == shape[:2]:
        return img
    return cv2.resize(img, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)


def ssim_map(a: np.ndarray, b: np.ndarray, blur: float = 0.0) -> np.ndarray:
    """Per-pixel SSIM of the grays; with `blur`, of blurred, contrast-normalised grays (structure, not texture)."""
    ga, gb = gray(a), gray(b)
    if blur:
        ga = cv2.GaussianBlur(ga, (0, 0), blur)
        gb = cv2.GaussianBlur(gb, (0, 0), blur)
        ga = (ga - ga.mean()) / (ga.std() + 1e-6)
        gb = (gb - gb.mean()) / (gb.std() + 1e-6)
        rng = max(float(np.ptp(ga)), float(np.ptp(gb)), 1e-6)
    else:
        rng = 1.0
    win = min(7, min(ga.shape) // 2 * 2 - 1)
    _, full = structural_similarity(ga, gb, data_range=rng, win_size=win, full=True)
    return full


def sharpness(img: np.ndarray) -> float:
    return float(cv2.Laplacian(gray(img), cv2.CV_32F).var())


_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def noise(img: np.ndarray) -> float:
    """Gaussian noise σ of the luma (Immerkær 1996: a Laplacian-difference mask cancels image structure)."""
    g = gray(img)
    h, w = g.shape
    response = np.abs(cv2.filter2D(g, cv2.CV_32F, _IMMERKAER))[1:-1, 1:-1]
    return float(np.sqrt(np.pi / 2) * response.sum() / (6 * (w - 2) * (h - 2)))


def clipping(img: np.ndarray) -> float:
    """Fraction of pixels whose luma is crushed to black or blown to white (one empty channel is just a colour)."""
    g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    return float(((g <= 2) | (g >= 253)).mean())


def blockiness(img: np.ndarray) -> float:
    """Mean jump across 8-px grid lines over the mean jump elsewhere (≈1 clean, >1.3 visible JPEG blocks)."""
    g = gray(img)
    dx = np.abs(np.diff(g, axis=1))
    cols = np.arange(dx.shape[1])
    on = dx[:, cols % 8 == 7].mean() if dx.shape[1] >= 8 else 0.0
    off = dx[:, cols % 8 != 7].mean() + 1e-6
    return float(on / off)


def hf(img: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    g = gray(img)
    return g - cv2.GaussianBlur(g, (0, 0), sigma)


def boundary_excess(original: np.ndarray, edited: np.ndarray, mask: np.ndarray) -> float:
    """Extra gradient the edit put on the boundary of `mask` (a seam) compared with the original there."""
    m = mask.astype(np.uint8)
    ring = (cv2.dilate(m, np.ones((3, 3), np.uint8)) - cv2.erode(m, np.ones((3, 3), np.uint8))) > 0
    if not ring.any():
        return 0.0

    def grad(img):
        g = gray(img)
        return np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))

    return float(max(0.0, grad(edited)[ring].mean() - grad(original)[ring].mean()))
