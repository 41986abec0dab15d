"""openai SDK exceptions → picobanana's BackendError tree, so the runner's retries and slow-down work.

    429                                   → RateLimited (retry_after from Retry-After / retry-after-ms)
    408, 409, 5xx, connection, timeout    → Transient
    other 4xx                             → Permanent (the reason is the service's message)
"""

from __future__ import annotations

import openai

from picobanana.errors import BackendError, Permanent, RateLimited, Transient


def retry_after_s(headers) -> float | None:
    """The service's retry hint in seconds, or None (HTTP dates are ignored: vLLM sends seconds)."""
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) / scale)
            except ValueError:
                continue
    return None


def error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return str(exc.message or exc)


def classify(exc: Exception, role: str) -> BackendError:
    """The BackendError to raise for an openai exception (non-openai exceptions: Transient with the type)."""
    if isinstance(exc, openai.APITimeoutError):
        return Transient(f"vllm {role}: request timed out")
    if isinstance(exc, openai.APIConnectionError):
        return Transient(f"vllm {role}: connection failed ({exc.__cause__ or exc})")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        what = f"vllm {role}: HTTP {status}: {error_message(exc)[:300]}"
        if status == 429:
            return RateLimited(what, retry_after=retry_after_s(exc.response.headers))
        if status in (408, 409) or status >= 500:
            return Transient(what)
        return Permanent(what)
    if isinstance(exc, openai.APIResponseValidationError):
        return Transient(f"vllm {role}: malformed response ({exc})")
    return Transient(f"vllm {role}: {type(exc).__name__}: {exc}")
