"""Building the google-genai client. The API key comes from the environment ONLY (GOOGLE_API_KEY wins over
GEMINI_API_KEY, as in the SDK): it is never an option, so it cannot reach a JobSpec, the database, logs or
exports. Options carry only where to send requests (`base_url`, for proxies and the wire-level fake).

The SDK makes exactly one attempt per call here (no `retry_options`): retries and 429 slow-downs belong to
the pipeline's scheduler, which sees the whole backend. Our own httpx2 async client is always injected, so
`client.aio` never silently switches to aiohttp when that happens to be installed.
"""

from __future__ import annotations

import os

import httpx2
from google import genai
from google.genai import types

from picobanana.errors import ConfigError

KEY_VARS = ("GOOGLE_API_KEY", "GEMINI_API_KEY")
# The runner's per-role semaphore bounds concurrency. httpx's defaults (100 connections, 20 kept alive) would
# queue calls beyond 100 inside their timeout and re-connect all but 20 after every burst.
POOL = httpx2.Limits(max_connections=None, max_keepalive_connections=None)


def api_key() -> str:
    for var in KEY_VARS:
        value = os.environ.get(var, "").strip()
        if value:
            return value
    raise ConfigError("the gemini backend needs an API key in GEMINI_API_KEY (or GOOGLE_API_KEY)")


def make_client(base_url: str | None = None, api_version: str | None = None, timeout_s: float | None = None,
                httpx_async_client: httpx2.AsyncClient | None = None) -> genai.Client:
    """A client for the Developer API; `httpx_async_client` lets tests inject a transport."""
    timeout = httpx2.Timeout(timeout_s) if timeout_s else httpx2.Timeout(600.0)
    options = types.HttpOptions(
        base_url=base_url, api_version=api_version,
        timeout=int(timeout_s * 1000) if timeout_s else None,
        httpx_async_client=httpx_async_client or httpx2.AsyncClient(timeout=timeout, limits=POOL))
    return genai.Client(api_key=api_key(), http_options=options)
