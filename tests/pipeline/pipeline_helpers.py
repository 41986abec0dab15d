"""Helpers for pipeline tests: real (small, generated) source photos in the store, fake backends."""

from __future__ import annotations

import io

from PIL import Image

from picobanana.backends.fake import FakeEditor, FakeJudge, FakeRewriter, FakeWriter
from picobanana.pipeline import Backends
from picobanana.store.writes import NewSource, ensure_sources


def png(seed: int, size: int = 48) -> bytes:
    img = Image.new("RGB", (size, size), (seed * 37 % 256, seed * 91 % 256, seed * 13 % 256))
    for x in range(0, size, 4):
        img.putpixel((x, x), (255, 255, 255))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def add_sources(store, n: int) -> list[int]:
    with store.transaction() as rev:
        rows = [NewSource(uri=f"file:///photos/{i}.png", origin="ingest",
                          image_sha256=store.images.put_bytes(png(i + 1), thumbnail=False).sha256) for i in range(n)]
        ids = ensure_sources(store, rows, rev)
    return [ids[r.uri] for r in rows]


def fakes(writer: dict | None = None, rewriter: dict | None = None, editor: dict | None = None,
          judge: dict | None = None) -> Backends:
    return Backends(FakeWriter(**(writer or {})), FakeRewriter(**(rewriter or {})), FakeEditor(**(editor or {})),
                    FakeJudge(**(judge or {})))
