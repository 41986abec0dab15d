"""Gemini Batch mode (−50 %, target ≤ 24 h) for the image-heavy roles: editor and judge.

    batch = GeminiBatch(editor)                         # a GeminiEditor or GeminiJudge (same options, same key)
    name = await batch.submit({"job3:src1:t1#a1": EditRequest(...), ...})   # persist `name` (e.g. in the job)
    state = await batch.state(name)                     # "JOB_STATE_RUNNING", … — safe to call after a restart
    results = await batch.results(name)                 # key → EditResult | JudgeResult | BackendError

Each answer goes through the same outcome parser as the synchronous call, so Batch and online modes record
identical statuses. Keep batches small (≤ ~100 image requests: large image batches fail to download, see
backends.md §1.7); requests are sent inline (< 20 MB in total).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from google.genai import types

from picobanana.errors import BackendError, Permanent, Transient

TERMINAL = {"JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED",
            "JOB_STATE_PARTIALLY_SUCCEEDED"}
DONE_WITH_OUTPUT = {"JOB_STATE_SUCCEEDED", "JOB_STATE_PARTIALLY_SUCCEEDED"}


def _state(job: types.BatchJob) -> str:
    return getattr(job.state, "name", None) or str(job.state)


class GeminiBatch:
    def __init__(self, role: Any):
        if not hasattr(role, "batch_request"):
            raise TypeError(f"{type(role).__name__} has no Batch mode (editor and judge only)")
        self.role = role

    async def _call(self, coro: Any) -> Any:
        from picobanana.backends.gemini.errors import classify

        try:
            return await coro
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise classify(exc, self.role.model) from exc

    async def submit(self, requests: dict[str, Any], display_name: str = "picobanana") -> str:
        if not requests:
            raise Permanent("an empty batch")
        src = []
        for key, request in requests.items():
            contents, config = self.role.batch_request(request)
            src.append(types.InlinedRequest(contents=contents, config=config, metadata={"key": key}))
        client = self.role._client()
        job = await self._call(client.aio.batches.create(model=self.role.model, src=src,
                                                         config={"display_name": display_name}))
        return job.name

    async def state(self, name: str) -> str:
        return _state(await self._call(self.role._client().aio.batches.get(name=name)))

    async def results(self, name: str) -> dict[str, Any]:
        """Per key: the typed result, or the BackendError that answer would have raised online."""
        job = await self._call(self.role._client().aio.batches.get(name=name))
        state = _state(job)
        if state not in DONE_WITH_OUTPUT:
            raise (Transient if state not in TERMINAL else Permanent)(f"batch {name} is {state}")
        out: dict[str, Any] = {}
        for item in (job.dest.inlined_responses if job.dest else None) or []:
            key = (item.metadata or {}).get("key")
            if key is None:
                continue
            if item.error is not None or item.response is None:
                out[key] = Permanent(f"batch item failed: {getattr(item.error, 'message', None) or 'no response'}")
                continue
            try:
                out[key] = self._batch_priced(self.role.batch_result(item.response))
            except BackendError as exc:
                out[key] = exc
        return out

    def _batch_priced(self, result: Any) -> Any:
        usage = result.usage
        if not usage.cost_usd or self.role.service_tier == "flex":  # flex already halved it
            return result
        return result.model_copy(update={"usage": usage.model_copy(update={"cost_usd": usage.cost_usd / 2})})

    async def wait(self, name: str, poll_s: float = 30.0, timeout_s: float | None = None) -> dict[str, Any]:
        started = time.monotonic()
        while (state := await self.state(name)) not in TERMINAL:
            if timeout_s is not None and time.monotonic() - started > timeout_s:
                raise Transient(f"batch {name} still {state} after {timeout_s:g} s")
            await asyncio.sleep(poll_s)
        return await self.results(name)
