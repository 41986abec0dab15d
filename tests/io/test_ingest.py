"""Input hygiene on a corpus of hostile images made here: each is normalised or refused with its reason."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from picobanana.cli.main import cli
from picobanana.io.ingest import Refused, ingest_bytes, ingest_paths, normalise

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def _encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature + IHDR claiming a huge size, with a tiny IDAT: the classic decompression bomb."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def _halves(size=(120, 60)) -> Image.Image:
    image = Image.new("RGB", size, RED)
    image.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    return image


def _exif_rotated_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: display needs a 90° clockwise turn
    return _encode(_halves(), "JPEG", quality=95, exif=exif)


def _cmyk_jpeg() -> bytes:
    return _encode(Image.new("CMYK", (64, 64), (0, 255, 255, 0)), "JPEG", quality=95)


def _png16() -> bytes:
    return _encode(Image.fromarray(np.full((64, 64), 40000, dtype=np.uint16)), "PNG")


def _palette_transparent_png() -> bytes:
    image = Image.new("P", (64, 64), 1)
    image.putpalette([0, 0, 0] + list(RED) + [0] * (256 - 2) * 3)
    image.paste(0, (0, 0, 32, 64))  # left half: index 0, the transparent one
    return _encode(image, "PNG", transparency=0)


def _rgba_png() -> bytes:
    image = Image.new("RGBA", (64, 64), (*RED, 255))
    image.paste((0, 0, 0, 0), (0, 0, 32, 64))
    return _encode(image, "PNG")


def _la_png() -> bytes:
    image = Image.new("LA", (64, 64), (0, 255))
    image.paste((0, 0), (0, 0, 32, 64))
    return _encode(image, "PNG")


def _truncated_jpeg() -> bytes:
    noise = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    data = _encode(Image.fromarray(noise), "JPEG", quality=90)
    return data[: len(data) // 2]


def _animated_gif() -> bytes:
    frames = [Image.new("RGB", (48, 48), colour) for colour in (RED, BLUE)]
    return _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)


# name → (bytes, expected refusal kind or None for accepted)
CORPUS = {
    "rotated.jpg": (_exif_rotated_jpeg, None),
    "cmyk.jpg": (_cmyk_jpeg, None),
    "deep16.png": (_png16, None),
    "palette.png": (_palette_transparent_png, None),
    "rgba.png": (_rgba_png, None),
    "la.png": (_la_png, None),
    "anim.gif": (_animated_gif, None),
    "bomb.png": (lambda: _png_header_only(30_000, 30_000), "decompression bomb"),
    "bomb-under-pillow-limit.png": (lambda: _png_header_only(9_000, 9_000), "decompression bomb"),
    "truncated.jpg": (_truncated_jpeg, "truncated"),
    "text.jpg": (lambda: b"this is not a picture\n" * 20, "not an image"),
    "empty.png": (lambda: b"", "empty file"),
    "tiny.png": (lambda: _encode(Image.new("RGB", (1, 1), RED), "PNG"), "too small"),
    "long.png": (lambda: _encode(Image.new("RGB", (4000, 100), RED), "PNG"), "extreme aspect ratio"),
}


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name, (make, _expected) in CORPUS.items():
        (folder / name).write_bytes(make())
    (folder / "notes.txt").write_text("not considered: no image suffix")
    (folder / ".hidden.jpg").write_bytes(b"junk")
    return folder


def _decoded(store, source_id: int) -> Image.Image:
    sha = store.scalar("SELECT image_sha256 FROM sources WHERE id = ?", (source_id,))
    with Image.open(store.images.file_of(sha)) as image:
        image.load()
        return image.copy()


def test_each_hostile_file_is_normalised_or_refused_with_its_reason(store, corpus):
    report = ingest_paths(store, [corpus], license="CC0-1.0")

    refused = {r.path.rsplit("/", 1)[-1]: r.kind for r in report.rejected}
    expected_refused = {name: kind for name, (_, kind) in CORPUS.items() if kind}
    assert refused == expected_refused
    assert report.accepted == len(CORPUS) - len(expected_refused) == 7
    rows = store.query("SELECT uri, origin, license, variant, local_path FROM sources ORDER BY id")
    assert len(rows) == 7
    assert all(r["uri"].startswith("file:///") and r["origin"] == "ingest" and r["license"] == "CC0-1.0"
               and r["variant"] == "normalised" and r["uri"] == "file://" + r["local_path"] for r in rows)
    for source_id in report.source_ids:
        assert _decoded(store, source_id).mode == "RGB"
    assert {kind: report.changes[kind] for kind in ("exif-rotated", "alpha on white", "CMYK→RGB",
                                                     "16/32-bit→8-bit", "first frame")} == {
        "exif-rotated": 1, "alpha on white": 3, "CMYK→RGB": 1, "16/32-bit→8-bit": 1, "first frame": 1}


def _accepted_image(store, corpus, name) -> Image.Image:
    report = ingest_paths(store, [corpus / name])
    assert report.accepted == 1, report.rejected
    return _decoded(store, report.source_ids[0])


def _near(pixel, colour, tolerance=40) -> bool:
    return all(abs(int(a) - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


def test_exif_orientation_is_applied(store, corpus):
    image = _accepted_image(store, corpus, "rotated.jpg")
    assert image.size == (60, 120)  # was 120x60 stored sideways
    assert _near(image.getpixel((30, 20)), RED) and _near(image.getpixel((30, 100)), BLUE)
    assert 0x0112 not in image.getexif()


def test_cmyk_becomes_rgb_with_the_same_colour(store, corpus):
    assert _near(_accepted_image(store, corpus, "cmyk.jpg").getpixel((10, 10)), RED)


def test_16_bit_is_scaled_not_clipped(store, corpus):
    value = _accepted_image(store, corpus, "deep16.png").getpixel((5, 5))
    assert value == (156, 156, 156)  # 40000 / 65535 * 255; clipping would give 255


@pytest.mark.parametrize("name, opaque", [("palette.png", RED), ("rgba.png", RED), ("la.png", (0, 0, 0))])
def test_transparency_is_composited_on_white(store, corpus, name, opaque):
    image = _accepted_image(store, corpus, name)
    assert image.getpixel((5, 5)) == WHITE
    assert image.getpixel((50, 5)) == opaque


def test_animation_keeps_its_first_frame(store, corpus):
    assert _near(_accepted_image(store, corpus, "anim.gif").getpixel((5, 5)), RED)


def test_ingesting_again_adds_nothing(store, corpus):
    first = ingest_paths(store, [corpus])
    revision = store.revision
    second = ingest_paths(store, [corpus])
    assert second.accepted == 0 and second.already == first.accepted == 7
    assert second.source_ids == first.source_ids
    assert store.revision == revision  # not even an empty transaction
    assert store.scalar("SELECT count(*) FROM sources") == 7


def test_normalise_reasons_carry_the_measured_size():
    with pytest.raises(Refused, match=r"decompression bomb: .*900000000 pixels"):  # Pillow's own guard
        normalise(_png_header_only(30_000, 30_000))
    with pytest.raises(Refused, match=r"decompression bomb: 9000x9000 px"):  # ours, under Pillow's limit
        normalise(_png_header_only(9_000, 9_000))
    honest_but_too_wide = _encode(Image.new("L", (12_500, 2_000)), "PNG")  # ~25 MP, one side over 12,000 px
    with pytest.raises(Refused, match=r"too large: 12500x2000 px"):
        normalise(honest_but_too_wide)


def test_cli_prints_accepted_and_rejected_by_reason(tmp_path, corpus):
    result = CliRunner().invoke(cli, ["-w", str(tmp_path / "ws"), "ingest", str(corpus)], catch_exceptions=False)
    assert result.exit_code == 1  # some files were refused
    assert "accepted (new)" in result.output and " 7" in result.output
    assert "rejected: decompression bomb" in result.output
    assert "refused" in result.output and "text.jpg" in result.output

    again = CliRunner().invoke(cli, ["-w", str(tmp_path / "ws"), "ingest", str(corpus / "rgba.png")],
                               catch_exceptions=False)
    assert again.exit_code == 0
    assert "already ingested" in again.output


def test_in_memory_images_are_named_by_content(store):
    first = ingest_bytes(store, _rgba_png(), origin="demo", license="CC0-1.0")
    assert ingest_bytes(store, _rgba_png(), origin="demo") == first
    uri, variant = store.query("SELECT uri, variant FROM sources WHERE id = ?", (first,))[0]
    assert uri.startswith("sha256:") and len(uri) == 7 + 64 and variant == "normalised"
    named = ingest_bytes(store, _cmyk_jpeg(), uri="skimage:coffee", origin="demo")
    assert store.scalar("SELECT uri FROM sources WHERE id = ?", (named,)) == "skimage:coffee"
    with pytest.raises(Refused, match="not an image"):
        ingest_bytes(store, b"GIF89a but not really")
