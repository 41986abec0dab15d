"""Input hygiene: validate and normalise source photos before the pipeline sees them.

Every accepted image comes out as an upright, 8-bit sRGB-mode RGB picture with no alpha and no metadata:

    EXIF orientation      applied (ImageOps.exif_transpose), then dropped with the rest of the metadata
    CMYK, YCbCr, Lab …    converted to RGB
    16/32-bit, float      scaled to 8 bits by the range the mode can hold (not clipped: clipping a 16-bit
                          photo gives a white image)
    palette, L, 1         expanded to RGB (a palette's transparency becomes alpha first)
    alpha (RGBA, LA, PA)  composited on white, as a viewer shows it
    animations            first frame

Refused, each with a reason a curator can act on: empty files, non-images, unsupported formats, truncated
or corrupt data, decompression bombs and absurd sizes (> 64 MP, a side > 12,000 px), images too small to edit
(a side < 32 px) and extreme aspect ratios (> 10:1). A refused file never stops the rest.

The normalised image is stored as high-quality JPEG when the input was a JPEG (no alpha to keep, and a PNG
would be 5–10× bigger), else PNG. One `sources` row per input file, keyed by its `file://` URI, so ingesting
the same files again adds nothing.
"""

from __future__ import annotations

import io
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from picobanana.errors import ImageError
from picobanana.store.db import Store
from picobanana.store.images import MAX_PIXELS  # one limit for every image the workspace accepts
from picobanana.store.writes import NewSource, ensure_sources

MAX_SIDE = 12_000
MIN_SIDE = 32
MAX_ASPECT = 10.0
JPEG_QUALITY = 95
# Formats a camera, phone or web page produces; MPO is a phone's multi-picture JPEG.
ACCEPTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "TIFF"})
# When a folder is given, only these files are considered (explicitly named files are always tried).
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".mpo"})
_BATCH = 64


class Refused(ImageError):
    """An input that cannot become a source; `kind` is a short label for summaries."""

    def __init__(self, kind: str, detail: str):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Normalised:
    data: bytes  # PNG or JPEG bytes of the upright RGB image
    format: str  # "PNG" or "JPEG"
    width: int
    height: int
    source_format: str
    source_mode: str
    changes: tuple[str, ...]  # what normalisation did: "kind (detail)", e.g. "exif-rotated (orientation 6)"


# ------------------------------------------------------------------------------------------ normalise


def normalise(data: bytes) -> Normalised:
    """Validate and normalise one encoded image; raises Refused with a reason."""
    if not data:
        raise Refused("empty file", "0 bytes")
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; we check sizes ourselves below.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as exc:
            raise Refused("decompression bomb", str(exc)) from exc
        except UnidentifiedImageError as exc:
            raise Refused("not an image", "unrecognised file content") from exc
        except (OSError, SyntaxError, ValueError) as exc:
            raise Refused("corrupt", str(exc)) from exc
    with image:
        fmt = image.format or "?"
        if fmt not in ACCEPTED_FORMATS:
            raise Refused("unsupported format", fmt)
        _check_size(image.width, image.height, len(data))
        try:
            image.load()  # decodes everything: truncated and corrupt streams fail here
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            kind = "truncated" if "truncated" in str(exc) or isinstance(exc, EOFError) else "corrupt"
            raise Refused(kind, str(exc)) from exc
        changes: list[str] = []
        if getattr(image, "n_frames", 1) > 1:
            changes.append("first frame")
        source_mode = image.mode
        upright = _upright(image, changes)
        rgb = _to_rgb(upright, changes)
    _check_size(rgb.width, rgb.height, len(data))
    out_format = "JPEG" if fmt in ("JPEG", "MPO") else "PNG"
    buffer = io.BytesIO()
    if out_format == "JPEG":
        rgb.save(buffer, "JPEG", quality=JPEG_QUALITY, subsampling=0)
    else:
        rgb.save(buffer, "PNG", compress_level=6)
    return Normalised(buffer.getvalue(), out_format, rgb.width, rgb.height, fmt, source_mode, tuple(changes))


def _check_size(width: int, height: int, n_bytes: int) -> None:
    pixels = width * height
    if pixels > MAX_PIXELS or max(width, height) > MAX_SIDE:
        # Too many pixels for a few bytes cannot be a photo: say so, it is the classic attack.
        kind = "decompression bomb" if pixels > MAX_PIXELS and n_bytes < pixels / 1000 else "too large"
        raise Refused(kind, f"{width}x{height} px (limits: {MAX_PIXELS // 1_000_000} MP, {MAX_SIDE:,} px a side)")
    if min(width, height) < MIN_SIDE:
        raise Refused("too small", f"{width}x{height} px (a side under {MIN_SIDE} px)")
    if max(width, height) / min(width, height) > MAX_ASPECT:
        raise Refused("extreme aspect ratio", f"{width}x{height} px (over {MAX_ASPECT:g}:1)")


def _upright(image: Image.Image, changes: list[str]) -> Image.Image:
    orientation = image.getexif().get(0x0112, 1)
    if orientation in (2, 3, 4, 5, 6, 7, 8):
        changes.append(f"exif-rotated (orientation {orientation})")
        return ImageOps.exif_transpose(image)
    return image


def _to_rgb(image: Image.Image, changes: list[str]) -> Image.Image:
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        changes.append(f"16/32-bit→8-bit ({mode})")
        return Image.fromarray(_to_uint8(np.asarray(image), mode)).convert("RGB")
    if (mode == "P" and "transparency" in image.info) or mode == "PA":
        image = image.convert("RGBA")
        mode = f"{mode}(transparent)"
    if image.mode in ("RGBA", "LA", "RGBa", "La"):
        changes.append(f"alpha on white ({mode})")
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    changes.append(f"{'CMYK' if mode == 'CMYK' else 'other mode'}→RGB ({mode})")
    return image.convert("RGB")


def _to_uint8(values: np.ndarray, mode: str) -> np.ndarray:
    values = values.astype(np.float64)
    if mode == "F":
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) / (high - low or 1.0)
    else:
        # 16-bit data often arrives in mode "I"; treat anything above 255 as 16-bit range.
        scaled = values / (65535.0 if mode.startswith("I;16") or values.max() > 255 else 255.0)
    return np.clip(np.rint(scaled * 255), 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------------------ ingest


@dataclass(slots=True)
class Rejection:
    path: str
    kind: str
    detail: str


@dataclass(slots=True)
class IngestReport:
    accepted: int = 0  # new sources
    already: int = 0  # files ingested before (same path): nothing written
    rejected: list[Rejection] = field(default_factory=list)
    changes: Counter = field(default_factory=Counter)  # normalisation steps applied, by kind
    source_ids: list[int] = field(default_factory=list)  # of accepted and already-ingested files, in order

    @property
    def seen(self) -> int:
        return self.accepted + self.already + len(self.rejected)

    def rejected_by_reason(self) -> dict[str, int]:
        return dict(Counter(r.kind for r in self.rejected).most_common())


def image_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Named files as given; folders walked recursively for image suffixes, in sorted order, hidden skipped."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                relative = child.relative_to(path).parts
                if child.is_file() and child.suffix.lower() in IMAGE_SUFFIXES and \
                        not any(p.startswith(".") for p in relative):
                    yield child
        else:
            yield path


def ingest_paths(store: Store, paths: Iterable[str | Path], *, origin: str = "ingest", license: str | None = None,
                 progress: Callable[[Path], None] | None = None) -> IngestReport:
    """Validate, normalise and store each file; one `sources` row per accepted file. Idempotent."""
    report = IngestReport()
    batch: list[tuple[Path, Normalised | None]] = []
    for path in image_files(paths):
        batch.append((path, None))
        if len(batch) >= _BATCH:
            _ingest_batch(store, batch, origin, license, report, progress)
            batch = []
    if batch:
        _ingest_batch(store, batch, origin, license, report, progress)
    return report


def _ingest_batch(store: Store, batch: list[tuple[Path, Normalised | None]], origin: str, license: str | None,
                  report: IngestReport, progress: Callable[[Path], None] | None) -> None:
    uris = {path: "file://" + str(path.resolve()) for path, _ in batch}
    known = _known_uris(store, list(uris.values()))
    new: list[NewSource] = []
    order: list[str] = []
    for path, _ in batch:
        uri = uris[path]
        try:
            if uri in known:
                report.already += 1
                order.append(uri)
                continue
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise Refused("unreadable", exc.strerror or str(exc)) from exc
            normal = normalise(data)
            stored = store.images.put_bytes(normal.data)
            report.changes.update(c.split(" (")[0] for c in normal.changes)
            new.append(NewSource(uri=uri, origin=origin, image_sha256=stored.sha256, license=license,
                                 variant="normalised", local_path=str(path.resolve())))
            order.append(uri)
        except Refused as exc:
            report.rejected.append(Rejection(str(path), exc.kind, exc.detail))
        except ImageError as exc:  # the store's own check disagreed: still a refusal, never a crash
            report.rejected.append(Rejection(str(path), "invalid", str(exc)))
        finally:
            if progress is not None:
                progress(path)
    ids: dict[str, int] = {}
    if new:
        with store.transaction() as rev:
            ids = ensure_sources(store, new, rev)
        report.accepted += len(new)
    ids.update(known)
    report.source_ids.extend(ids[uri] for uri in order if uri in ids)


def ingest_bytes(store: Store, data: bytes, *, uri: str | None = None, origin: str = "ingest",
                 license: str | None = None) -> int:
    """Normalise and store one in-memory image as a source; returns its id. Raises Refused.

    Without a `uri` the source is named by its content, "sha256:<hash of the normalised image>", so the same
    picture added twice is one source.
    """
    stored = store.images.put_bytes(normalise(data).data)
    uri = uri or f"sha256:{stored.sha256}"
    with store.transaction() as rev:
        ids = ensure_sources(store, [NewSource(uri=uri, origin=origin, image_sha256=stored.sha256, license=license,
                                               variant="normalised")], rev)
    return ids[uri]


def _known_uris(store: Store, uris: list[str]) -> dict[str, int]:
    if not uris:
        return {}
    marks = ",".join("?" * len(uris))
    return {row[0]: row[1] for row in store.query(f"SELECT uri, id FROM sources WHERE uri IN ({marks})", uris)}
