"""Colour-space helpers shared by the ops and the verifiers (float32 Lab via OpenCV: L 0..100, a/b ±127)."""

from __future__ import annotations

import cv2
import numpy as np


def to_float(img: np.ndarray) -> np.ndarray:
    return img.astype(np.float32) / 255.0


def to_uint8(img: np.ndarray) -> np.ndarray:
    return np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)


def rgb_to_lab(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(to_float(img), cv2.COLOR_RGB2Lab)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    return to_uint8(np.clip(cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_Lab2RGB), 0, 1))


def gray(img: np.ndarray) -> np.ndarray:
    """Luma in [0, 1]."""
    return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0


def hsv(img: np.ndarray) -> np.ndarray:
    """H in degrees 0..360, S and V in [0, 1]."""
    return cv2.cvtColor(to_float(img), cv2.COLOR_RGB2HSV)


def vignette(h: int, w: int, amount: float) -> np.ndarray:
    """Multiplier map: 1 at the centre, 1 - amount in the corners."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.sqrt(((x - w / 2) / (w / 2)) ** 2 + ((y - h / 2) / (h / 2)) ** 2) / np.sqrt(2)
    return 1.0 - amount * r**2
