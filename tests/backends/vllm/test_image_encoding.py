"""Images go to vLLM without needless re-encoding: re-encoding a photo to PNG three times per attempt, on the
event loop, was the client's main CPU cost (bench/bench_backends.py: 17% of ideal throughput at 512 px)."""

from __future__ import annotations

import asyncio
import base64
import io

import pytest
from PIL import Image

from picobanana.backends.base import EditRequest, InstructionRequest
from picobanana.backends.registry import create_backend
from picobanana.backends.vllm.client import encode_within
from picobanana.errors import ImageError


def _jpeg(size: tuple[int, int]) -> bytes:
    img = Image.new("RGB", size, (170, 90, 40))
    img.paste((20, 200, 120), (size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=90)
    return out.getvalue()


def _sent_image(server) -> tuple[str, bytes]:
    parts = server.requests[-1]["body"]["messages"][0]["content"]
    url = next(p["image_url"]["url"] for p in parts if p["type"] == "image_url")
    header, data = url.split(",", 1)
    return header, base64.b64decode(data)


def test_a_jpeg_within_bounds_is_sent_as_it_is(server):
    photo = _jpeg((640, 480))
    writer = create_backend("writer", "vllm", {"base_url": server.url})
    asyncio.run(writer.write(InstructionRequest(image=photo, edit_type_id=1, seed=1)))
    assert _sent_image(server) == ("data:image/jpeg;base64", photo)


def test_a_large_jpeg_is_downscaled_and_stays_jpeg(server):
    writer = create_backend("writer", "vllm", {"base_url": server.url})
    asyncio.run(writer.write(InstructionRequest(image=_jpeg((2400, 1600)), edit_type_id=1, seed=1)))
    header, data = _sent_image(server)
    with Image.open(io.BytesIO(data)) as sent:
        assert header == "data:image/jpeg;base64" and sent.format == "JPEG" and sent.size == (1024, 683)


def test_the_editor_uploads_a_jpeg_source_unchanged(server):
    photo = _jpeg((320, 240))
    editor = create_backend("editor", "vllm", {"base_url": server.url})
    result = asyncio.run(editor.edit(EditRequest(image=photo, instruction="make it warm", edit_type_id=1, seed=3)))
    assert result.status == "ok"
    assert server.requests[-1]["files"] == [("src.jpg", "image/jpeg", len(photo))]


def test_other_formats_are_re_encoded_as_png_and_junk_is_refused():
    img = Image.new("RGBA", (300, 200), (10, 20, 30, 128))
    out = io.BytesIO()
    img.save(out, format="GIF")
    data, mime = encode_within(out.getvalue(), 100)
    with Image.open(io.BytesIO(data)) as sent:
        assert mime == "image/png" and sent.format == "PNG" and max(sent.size) == 100
    with pytest.raises(ImageError, match="not a readable image"):
        encode_within(b"junk", 100)
