"""google-genai / transport exceptions → picobanana.errors, so the runner's slow-down and retries apply.

    429                      → RateLimited(retry_after from RetryInfo.retryDelay or a Retry-After header)
    408, 5xx, timeouts,
    dropped connections,
    non-JSON error bodies    → Transient
    other 4xx                → Permanent (the attempt fails with the service's message)
"""

from __future__ import annotations

import asyncio
import re

import httpx2
from google.genai import errors as genai_errors

from picobanana.errors import BackendError, Permanent, RateLimited, Transient

RETRYABLE_CODES = {408, 500, 502, 503, 504}
_DELAY = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def retry_hint(exc: genai_errors.APIError) -> float | None:
    """Seconds to wait, from google.rpc.RetryInfo in the error details or a Retry-After header."""
    details = exc.details
    body = details.get("error", details) if isinstance(details, dict) else {}
    for item in body.get("details") or [] if isinstance(body, dict) else []:
        if isinstance(item, dict) and str(item.get("@type", "")).endswith("RetryInfo"):
            match = _DELAY.match(str(item.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    headers = getattr(exc.response, "headers", None)
    value = headers.get("retry-after") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def classify(exc: BaseException, model: str) -> BackendError:
    if isinstance(exc, BackendError):
        return exc
    if isinstance(exc, genai_errors.APIError):
        what = f"{model}: HTTP {exc.code} {exc.status or ''}: {exc.message or ''}".strip()
        if exc.code == 429:
            return RateLimited(what, retry_after=retry_hint(exc))
        if exc.code in RETRYABLE_CODES or (exc.code or 0) >= 500:
            return Transient(what)
        return Permanent(what)
    if isinstance(exc, httpx2.TimeoutException | asyncio.TimeoutError | TimeoutError):
        return Transient(f"{model}: timed out ({type(exc).__name__})")
    if isinstance(exc, httpx2.TransportError | ConnectionError | genai_errors.UnknownApiResponseError):
        return Transient(f"{model}: {type(exc).__name__}: {exc}")
    return Permanent(f"{model}: {type(exc).__name__}: {exc}")
