"""Weather overlays: rain streaks, snowfall, fog."""

from __future__ import annotations

import random

import cv2
import numpy as np

from ..specs import WeatherSpec
from .common import lab_to_rgb, rgb_to_lab, to_float, to_uint8


def _overcast(img: np.ndarray, darken: float, desat: float) -> np.ndarray:
    lab = rgb_to_lab(img)
    lab[..., 0] *= darken
    lab[..., 1:] *= desat
    lab[..., 2] -= 4
    return to_float(lab_to_rgb(lab))


def weather(img: np.ndarray, spec: WeatherSpec, rng: random.Random) -> np.ndarray:
    h, w = img.shape[:2]
    k = spec.strength
    nrng = np.random.default_rng(rng.getrandbits(32))
    if spec.kind == "rain":
        base = _overcast(img, 1 - 0.25 * k, 1 - 0.35 * k)
        # Sparse seeds smeared by a slanted line kernel -> streaks; drawn at <= 512 px and upscaled so streak
        # density and thickness look the same at any resolution.
        s = min(1.0, 512 / max(h, w))
        sh, sw = max(8, round(h * s)), max(8, round(w * s))
        seeds = (nrng.random((sh, sw)) < 0.004 + 0.01 * k).astype(np.float32)
        length = max(7, int(min(sh, sw) * 0.08))
        kernel = np.zeros((length, length), np.float32)
        angle = np.deg2rad(rng.uniform(-15, 15))
        c = length // 2
        for t in np.linspace(-c, c, length * 2):
            kernel[round(float(c + t * np.cos(angle))) % length, round(float(c + t * np.sin(angle))) % length] = 1
        streaks = np.clip(cv2.filter2D(seeds, -1, kernel), 0, 1)
        if (sh, sw) != (h, w):
            streaks = cv2.resize(streaks, (w, h), interpolation=cv2.INTER_LINEAR)
        streaks = streaks[..., None] * (0.35 + 0.3 * k)
        return to_uint8(np.clip(base + streaks * (0.85 - base), 0, 1))
    if spec.kind == "snow":
        base = _overcast(img, 1.0, 1 - 0.4 * k)
        flakes = np.zeros((h, w), np.float32)
        unit = max(1.0, min(h, w) / 256)  # flakes keep their look at any resolution
        count = int(h * w * (0.0015 + 0.003 * k) / unit**2)
        for _ in range(count):
            x, y = int(nrng.integers(0, w)), int(nrng.integers(0, h))
            r = max(1, round(int(nrng.choice([1, 1, 1, 2, 2, 3])) * unit))
            cv2.circle(flakes, (x, y), r, float(nrng.uniform(0.7, 1.0)), -1, lineType=cv2.LINE_AA)
        flakes = cv2.GaussianBlur(flakes, (0, 0), 0.7 * unit)[..., None]
        white = np.array([0.97, 0.98, 1.0], np.float32)
        return to_uint8(np.clip(base * (1 - flakes) + white * flakes, 0, 1))
    # fog: haze that thickens toward the top (farther away in most photos)
    base = to_float(img)
    depth = np.linspace(0.85, 0.45, h, dtype=np.float32)[:, None, None]
    t = np.clip(depth * (0.6 + 0.4 * k), 0, 0.9)
    fog = np.array([0.82, 0.84, 0.86], np.float32)
    return to_uint8(base * (1 - t) + fog * t)
