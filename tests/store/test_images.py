"""Content-addressed image files: hashing, dedup, atomic writes, thumbnails, hostile input."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from picobanana.errors import ImageError
from picobanana.store.images import MAX_PIXELS


def png_bytes(size=(64, 48), color=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def test_put_bytes_stores_by_sha256_in_sharded_folders_with_a_thumbnail(store):
    data = png_bytes()
    with store.transaction():
        stored = store.images.put_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    assert stored.sha256 == digest and (stored.width, stored.height, stored.format) == (64, 48, "PNG")
    path = store.images.path(digest, "PNG")
    assert path.relative_to(store.workspace).parts[:3] == ("images", digest[:2], digest[2:4])
    assert path.read_bytes() == data
    assert store.images.thumbnail_path(digest).is_file()
    assert store.scalar("SELECT bytes FROM images WHERE sha256 = ?", (digest,)) == len(data)


def test_same_content_is_stored_once(store, tmp_path):
    data = png_bytes()
    source = tmp_path / "copy.png"
    source.write_bytes(data)
    with store.transaction():
        first = store.images.put_bytes(data)
        second = store.images.put_file(source)
    assert first.sha256 == second.sha256
    assert store.scalar("SELECT COUNT(*) FROM images") == 1
    assert len(list((store.workspace / "images").rglob("*.png"))) == 1


def test_no_temporary_files_are_left_behind(store):
    with store.transaction():
        store.images.put_bytes(png_bytes())
    assert not [p for p in store.workspace.rglob(".tmp-*")]


def test_hard_link_when_asked(store, tmp_path):
    source = tmp_path / "a.png"
    source.write_bytes(png_bytes())
    with store.transaction():
        stored = store.images.put_file(source, link=True)
    assert store.images.path(stored.sha256, stored.format).stat().st_ino == source.stat().st_ino


@pytest.mark.parametrize("data, reason", [
    (b"", "not an image"),
    (b"hello, I am text", "not an image"),
    (png_bytes()[:60], "corrupt or truncated"),
])
def test_bad_files_are_refused_with_a_reason(store, data, reason):
    with pytest.raises(ImageError, match=reason):
        store.images.put_bytes(data)
    assert store.scalar("SELECT COUNT(*) FROM images") == 0


def test_decompression_bombs_are_refused(store):
    side = int(MAX_PIXELS ** 0.5) + 100
    buffer = io.BytesIO()
    Image.new("1", (side, side)).save(buffer, "PNG")  # a few KB on disk, 65+ megapixels decoded
    with pytest.raises(ImageError, match="too large|decompression bomb"):
        store.images.put_bytes(buffer.getvalue())
