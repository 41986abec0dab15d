"""Content-addressed image files: images/ab/cd/<sha256>.<ext>, thumbnails in thumbs/ab/<sha256>.webp.

Files are written to a temporary name in the target folder and renamed into place, so a crash never leaves a
half-written image under a real name. The file is written before its `images` row, so a row always has a file.
Images never go into the database; only their catalogue row (hash, format, size) does.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import sqlite3
import tempfile
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from picobanana.errors import ImageError

THUMBNAIL_SIZE = 256
# Refuse decompression bombs early: 64 megapixels is well above any photo the pipeline needs.
MAX_PIXELS = 64_000_000
_FORMAT_EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "GIF": "gif", "BMP": "bmp", "TIFF": "tif"}


@dataclass(frozen=True, slots=True)
class StoredImage:
    sha256: str
    format: str
    width: int
    height: int
    bytes: int


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def inspect_image(data: bytes | Path) -> tuple[str, int, int]:
    """Return (format, width, height) or raise ImageError with a reason a curator can act on."""
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise ImageError(f"image too large: {width}x{height} pixels (limit {MAX_PIXELS:,})")
                fmt = image.format or "?"
                image.verify()  # reads the whole stream: catches truncated and corrupt files
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"refused as a decompression bomb: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise ImageError("not an image file (unrecognised format)") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"corrupt or truncated image: {exc}") from exc
    if fmt not in _FORMAT_EXTENSIONS:
        raise ImageError(f"unsupported image format {fmt}")
    return fmt, width, height


class ImageStore:
    def __init__(self, workspace: Path, conn: sqlite3.Connection):
        self.root = workspace / "images"
        self.thumb_root = workspace / "thumbs"
        self.conn = conn

    def path(self, sha256: str, fmt: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}.{_FORMAT_EXTENSIONS.get(fmt, fmt.lower())}"

    def thumbnail_path(self, sha256: str) -> Path:
        return self.thumb_root / sha256[:2] / f"{sha256}.webp"

    def get(self, sha256: str) -> StoredImage | None:
        row = self.conn.execute(
            "SELECT sha256, format, width, height, bytes FROM images WHERE sha256 = ?", (sha256,)
        ).fetchone()
        return StoredImage(*row) if row else None

    def file_of(self, sha256: str) -> Path | None:
        stored = self.get(sha256)
        return self.path(stored.sha256, stored.format) if stored else None

    def put_bytes(self, data: bytes, *, thumbnail: bool = True) -> StoredImage:
        fmt, width, height = inspect_image(data)
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path(sha256, fmt)
        if not target.exists():
            _atomic_write(target, lambda handle: handle.write(data))
        return self._catalogue(sha256, fmt, width, height, len(data), target, thumbnail)

    def put_file(self, source: Path, *, link: bool = False, thumbnail: bool = True) -> StoredImage:
        """Add a file; with link=True a hard link is tried first (same file system), then a copy."""
        fmt, width, height = inspect_image(source)
        sha256 = sha256_file(source)
        target = self.path(sha256, fmt)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            linked = False
            if link:
                try:
                    os.link(source, target)
                    linked = True
                except OSError:
                    pass
            if not linked:
                _atomic_write(target, lambda handle: _copy_into(source, handle))
        return self._catalogue(sha256, fmt, width, height, source.stat().st_size, target, thumbnail)

    def _catalogue(self, sha256: str, fmt: str, width: int, height: int, size: int, target: Path,
                   thumbnail: bool) -> StoredImage:
        if thumbnail:
            self.ensure_thumbnail(sha256, target)
        self.conn.execute(
            "INSERT OR IGNORE INTO images (sha256, format, width, height, bytes, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (sha256, fmt, width, height, size, datetime.now(UTC).isoformat(timespec="milliseconds")),
        )
        return StoredImage(sha256, fmt, width, height, size)

    def ensure_thumbnail(self, sha256: str, original: Path | None = None) -> Path:
        thumb = self.thumbnail_path(sha256)
        if thumb.exists():
            return thumb
        original = original or self.file_of(sha256)
        if original is None:
            raise ImageError(f"no image {sha256} in the store")
        with Image.open(original) as image:
            image.draft("RGB", (THUMBNAIL_SIZE * 2, THUMBNAIL_SIZE * 2))  # fast JPEG downscale on decode
            image = image.convert("RGB")
            image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
            buffer = io.BytesIO()
            image.save(buffer, "WEBP", quality=80)
        _atomic_write(thumb, lambda handle: handle.write(buffer.getvalue()))
        return thumb


def _copy_into(source: Path, handle) -> None:
    with open(source, "rb") as src:
        shutil.copyfileobj(src, handle, 1 << 20)


def _atomic_write(target: Path, write) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
