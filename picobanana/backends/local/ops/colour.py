"""Global colour grading in Lab: tone (warm/cool), lighting moods, seasons, historical/modern looks."""

from __future__ import annotations

import random

import cv2
import numpy as np

from ..specs import EraSpec, LightingSpec, SeasonSpec, ToneSpec
from .common import hsv, lab_to_rgb, rgb_to_lab, vignette


def tone(img: np.ndarray, spec: ToneSpec, rng: random.Random) -> np.ndarray:
    lab = rgb_to_lab(img)
    s = 1 if spec.direction == "warm" else -1
    # Warmth lives mostly on b* (blue-yellow), a little on a* (green-red).
    lab[..., 2] += s * 22 * spec.strength
    lab[..., 1] += s * 6 * spec.strength
    return lab_to_rgb(lab)


def lighting(img: np.ndarray, spec: LightingSpec, rng: random.Random) -> np.ndarray:
    lab = rgb_to_lab(img)
    h, w = img.shape[:2]
    k = spec.strength
    L = lab[..., 0]
    if spec.mode == "golden hour":
        # Low warm sun from one side: warm cast, soft lift that fades across the frame.
        side = np.linspace(1.0, 0.5, w, dtype=np.float32)[None, :]
        if rng.random() < 0.5:
            side = side[:, ::-1]
        lab[..., 0] = np.clip(L + 8 * k * side, 0, 100)
        lab[..., 1] += 8 * k * side
        lab[..., 2] += 26 * k * side
    elif spec.mode == "fluorescent":
        # Flat, slightly green-cyan, cold and bright: compressed contrast toward a high mean.
        lab[..., 0] = np.clip(L * (1 - 0.25 * k) + 22 * k, 0, 100)
        lab[..., 1] -= 8 * k
        lab[..., 2] -= 12 * k
    else:  # dusk
        lab[..., 0] = L * (1 - 0.45 * k) * vignette(h, w, 0.3 * k)
        lab[..., 1:] *= 1 - 0.3 * k
        lab[..., 2] -= 14 * k
    return lab_to_rgb(lab)


def season(img: np.ndarray, spec: SeasonSpec, rng: random.Random) -> np.ndarray:
    lab = rgb_to_lab(img)
    if spec.to == "winter":
        # Cold, washed-out, bright: chroma down, blue shift, highlights pushed toward white.
        lab[..., 1:] *= 0.35
        lab[..., 2] -= 14
        L = lab[..., 0]
        lab[..., 0] = np.clip(L * 0.75 + 28, 0, 100)
        return lab_to_rgb(lab)
    if spec.to == "summer":
        lab[..., 1:] *= 1.5  # richer colour at the same hues
        lab[..., 0] = np.clip(lab[..., 0] * 1.04 + 2, 0, 100)
        return lab_to_rgb(lab)
    # autumn: rotate greens/yellow-greens to orange, then warm everything a little
    hsv_img = hsv(img)
    hue = hsv_img[..., 0]
    greens = np.clip(1 - np.abs(hue - 100) / 60, 0, 1) * (hsv_img[..., 1] > 0.12)
    hsv_img[..., 0] = hue - greens * (hue - 28)
    hsv_img[..., 1] = np.clip(hsv_img[..., 1] * (1 + 0.4 * greens), 0, 1)
    rgb = np.clip(cv2.cvtColor(hsv_img, cv2.COLOR_HSV2RGB) * 255 + 0.5, 0, 255).astype(np.uint8)
    lab = rgb_to_lab(rgb)
    lab[..., 1] += 7
    lab[..., 2] += 14
    return lab_to_rgb(lab)


def era(img: np.ndarray, spec: EraSpec, rng: random.Random) -> np.ndarray:
    lab = rgb_to_lab(img)
    h, w = img.shape[:2]
    if spec.to == "modern":
        # Crisp digital: local contrast (CLAHE on L), richer colour, unsharp mask.
        L8 = np.clip(lab[..., 0] * 2.55, 0, 255).astype(np.uint8)
        L8 = cv2.createCLAHE(clipLimit=2.5, tileGridSize=(8, 8)).apply(L8)
        L = L8.astype(np.float32) / 2.55
        blur = cv2.GaussianBlur(L, (0, 0), 1.5)
        lab[..., 0] = np.clip(L + 0.8 * (L - blur), 0, 100)
        lab[..., 1:] *= 1.35
        return lab_to_rgb(lab)
    L = lab[..., 0]
    if spec.look == "1920s sepia":
        # Monochrome in a brown tint, lower contrast, dark corners.
        lab[..., 0] = (L * 0.8 + 10) * vignette(h, w, 0.45)
        lab[..., 1] = 6
        lab[..., 2] = 20
    else:  # faded 1970s film: lifted blacks, muted, yellow-magenta cast
        lab[..., 0] = (L * 0.7 + 18) * vignette(h, w, 0.25)
        lab[..., 1] = lab[..., 1] * 0.5 + 5
        lab[..., 2] = lab[..., 2] * 0.5 + 16
    return lab_to_rgb(lab)
