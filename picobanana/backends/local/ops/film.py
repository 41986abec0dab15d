"""Film grain and vintage filter."""

from __future__ import annotations

import random

import cv2
import numpy as np

from ..specs import GrainSpec
from .common import lab_to_rgb, rgb_to_lab, vignette


def grain(img: np.ndarray, spec: GrainSpec, rng: random.Random) -> np.ndarray:
    h, w = img.shape[:2]
    nrng = np.random.default_rng(rng.getrandbits(32))
    lab = rgb_to_lab(img)
    # Luminance grain, slightly clumped (film grain is not per-pixel white noise).
    noise = nrng.normal(0, 1, (h, w)).astype(np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), 0.6)
    noise /= noise.std() + 1e-6
    if spec.look == "vintage":
        lab[..., 0] = (lab[..., 0] * 0.85 + 10) * vignette(h, w, 0.35)
        lab[..., 1] = lab[..., 1] * 0.55 + 4
        lab[..., 2] = lab[..., 2] * 0.55 + 14
    lab[..., 0] = np.clip(lab[..., 0] + noise * 11 * spec.strength, 0, 100)
    return lab_to_rgb(lab)
