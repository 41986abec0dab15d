"""Deterministic train/validation assignment by source image.

A source's split depends only on its URI: the first 64 bits of sha256(uri), read as a fraction of 2**64, fall
below `validation_fraction` → validation. So every record made from one photo (every edit type, every kind,
every turn of a chain) lands in the same split, and the answer is the same on every run and machine.
Nothing is cached or stored: hashing a URI costs about a microsecond.
"""

from __future__ import annotations

import hashlib
from typing import Literal

Split = Literal["train", "validation"]
SPLITS: tuple[Split, ...] = ("train", "validation")

_SCALE = float(1 << 64)


def check_fraction(validation_fraction: float) -> float:
    if not 0.0 <= validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be in [0, 1), not {validation_fraction}")
    return float(validation_fraction)


def source_fraction(uri: str) -> float:
    """A stable number in [0, 1) for a source URI."""
    return int.from_bytes(hashlib.sha256(uri.encode("utf-8")).digest()[:8], "big") / _SCALE


def split_of(uri: str, validation_fraction: float) -> Split:
    if validation_fraction <= 0.0:
        return "train"
    return "validation" if source_fraction(uri) < validation_fraction else "train"
