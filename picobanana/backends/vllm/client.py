"""One AsyncOpenAI client per backend (and per event loop), pointed at a `vllm serve` / vllm-omni base URL.

`max_retries=0`: the pipeline runner owns retries, back-off and rate-limit slow-down; SDK retries would hide
429s from it and multiply the timeout. No keep-alive pool: the runner has no close hook for backends, and a
pooled connection left behind when `asyncio.run` ends is closed by the garbage collector on a dead loop
("Event loop is closed"); one TCP connect per call is noise next to a model call. The key comes from VLLM_API_KEY (vLLM's `--api-key`), never from the
job spec, so it never reaches the database.
"""

from __future__ import annotations

import asyncio
import base64
import io
import os

import httpx2
import openai
from PIL import Image

from picobanana.errors import ImageError


class ClientHolder:
    """Lazily builds the client inside the running loop: an httpx pool must not outlive its event loop."""

    def __init__(self, base_url: str, timeout_s: float):
        self.base_url, self.timeout_s = base_url.rstrip("/"), float(timeout_s)
        self._client: openai.AsyncOpenAI | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> openai.AsyncOpenAI:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = openai.AsyncOpenAI(base_url=self.base_url, api_key=os.environ.get("VLLM_API_KEY", "EMPTY"),
                                              max_retries=0, timeout=self.timeout_s, http_client=_http_client())
            self._loop = loop
        return self._client


def _http_client() -> openai.DefaultAsyncHttpxClient:
    return openai.DefaultAsyncHttpxClient(limits=httpx2.Limits(max_connections=None, max_keepalive_connections=0))


# Formats a VLM server and vllm-omni decode as they are (PIL behind both): no need to re-encode them.
_MIMES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


def encode_within(image: bytes, max_side: int | None) -> tuple[bytes, str]:
    """(bytes, mime) of `image`, downscaled so its longer side is ≤ max_side (VLM token budgets; None = as is).

    Re-encoding is the client's main CPU cost (a 512 px photo → PNG at zlib level 6 took ~70 ms, three times per
    attempt, and starved the event loop: vLLM at 2 s latency × 64 reached 17% of ideal), so an image within
    bounds goes as it is; a downscaled JPEG stays JPEG (the source is lossy anyway) and anything else becomes
    a fast PNG (zlib level 1). CPU-bound: call it through `asyncio.to_thread` (Pillow releases the GIL).
    """
    try:
        with Image.open(io.BytesIO(image)) as opened:
            fmt = opened.format
            if fmt in _MIMES and (max_side is None or max(opened.size) <= max_side):
                return image, _MIMES[fmt]
            if fmt == "JPEG" and max_side is not None:
                opened.draft("RGB", (max_side, max_side))  # decode at 1/2, 1/4 or 1/8 scale when that suffices
            img = opened.convert("RGBA" if "A" in opened.getbands() else "RGB")
    except Exception as exc:  # PIL raises many types for hostile bytes
        raise ImageError(f"not a readable image: {exc}") from exc
    if max_side is not None and max(img.size) > max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if fmt == "JPEG" and img.mode == "RGB":
        img.save(out, format="JPEG", quality=95)
        return out.getvalue(), "image/jpeg"
    img.save(out, format="PNG", compress_level=1)
    return out.getvalue(), "image/png"


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")
