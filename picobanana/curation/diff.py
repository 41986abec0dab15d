"""Where did an edit change the image? A difference heat-map of the input and the edited output.

The per-pixel difference (mean absolute difference over RGB, both images at the input's aspect, at most 512 px
on the long side) is scaled by its 99th percentile, so a subtle local edit is as visible as a global one, and
coloured dark (unchanged) → bright yellow (most changed). Heat-maps are computed once and cached as WebP
beside the thumbnails (thumbs/diff/…), which the studio may serve; the name holds both hashes, so an item
whose input changes gets a new map.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from picobanana.store.db import Store

HEATMAP_MAX_SIDE = 512
# An inferno-like ramp: anchors at 0, ¼, ½, ¾, 1 of the scaled difference.
_RAMP = np.array([(0, 0, 4), (87, 16, 110), (188, 55, 84), (249, 142, 9), (252, 255, 164)], dtype=float)


def heatmap_path(store: Store, input_sha256: str, output_sha256: str) -> Path:
    return store.images.thumb_root / "diff" / output_sha256[:2] / f"{input_sha256[:16]}-{output_sha256}.webp"


def ensure_heatmap(store: Store, input_sha256: str | None, output_sha256: str | None) -> Path | None:
    """The cached heat-map of two stored images, made on first use; None when either file is missing."""
    if not input_sha256 or not output_sha256:
        return None
    target = heatmap_path(store, input_sha256, output_sha256)
    if target.exists():
        return target
    before, after = store.images.file_of(input_sha256), store.images.file_of(output_sha256)
    if before is None or after is None or not before.exists() or not after.exists():
        return None
    with Image.open(before) as a, Image.open(after) as b:
        heat = difference_heatmap(a, b)
    _save_atomic(Image.fromarray(heat), target)
    return target


def difference_heatmap(before: Image.Image, after: Image.Image, max_side: int = HEATMAP_MAX_SIDE) -> np.ndarray:
    """(H, W, 3) uint8 colour image of where `after` differs from `before`, at `before`'s aspect ratio.

    An output of another size (zoom, outpainting) is resized onto the input's frame: the map then shows that
    everything moved, which is what a curator needs to know.
    """
    scale = min(1.0, max_side / max(before.size))
    size = (max(1, round(before.width * scale)), max(1, round(before.height * scale)))
    a = np.asarray(before.convert("RGB").resize(size, Image.Resampling.BILINEAR), dtype=np.float32)
    b = np.asarray(after.convert("RGB").resize(size, Image.Resampling.BILINEAR), dtype=np.float32)
    diff = np.abs(a - b).mean(axis=2)
    top = max(float(np.percentile(diff, 99)), 8.0)  # a floor, so JPEG noise on an unchanged image stays dark
    level = np.clip(diff / top, 0.0, 1.0)
    stops = np.linspace(0.0, 1.0, len(_RAMP))
    channels = [np.interp(level, stops, _RAMP[:, c]) for c in range(3)]
    return np.stack(channels, axis=2).round().astype(np.uint8)


def _save_atomic(image: Image.Image, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".webp")
    try:
        with os.fdopen(fd, "wb") as handle:
            image.save(handle, "WEBP", quality=85)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
