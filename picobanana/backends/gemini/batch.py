"""Gemini Batch mode (−50 %, target ≤ 24 h) for the image-heavy roles: editor and judge.

    batch = GeminiBatch(editor)                         # a GeminiEditor or GeminiJudge (same options, same key)
    name = await batch.submit({"job3:src1:t1#a1": EditRequest(...), ...})   # persist `name` (e.g. in the job)
    state = await batch.state(name)                     # "JOB_STATE_RUNNING", … — safe to call after a restart
    results = await batch.results(name)                 # key → EditResult | JudgeResult | BackendError

Each answer goes through the same outcome parser as the synchronous call, so Batch and online modes record
identical statuses. Keep batches small (≤ ~100 image requests: large image batches fail to download, see
backends.md §1.7); requests are sent inline (< 20 MB in total). Results come back inline or, for large
outputs, as a JSONL file (`dest.file_name`, one `{"key", "response" | "error"}` per line) that is streamed
to a temporary file through the files API and read line by line — both forms give the same dict.
The whole job's orchestration (rounds, storage, resume) is picobanana/pipeline/batch_mode.py.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from google.genai import types

from picobanana.errors import BackendError, Permanent, Transient

TERMINAL = {"JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED",
            "JOB_STATE_PARTIALLY_SUCCEEDED"}
DONE_WITH_OUTPUT = {"JOB_STATE_SUCCEEDED", "JOB_STATE_PARTIALLY_SUCCEEDED"}
BATCH_DISCOUNT = 0.5  # Batch bills half the online price (backends.md §1.7)


def _state(job: types.BatchJob) -> str:
    return getattr(job.state, "name", None) or str(job.state)


class GeminiBatch:
    def __init__(self, role: Any):
        if not hasattr(role, "batch_request"):
            raise TypeError(f"{type(role).__name__} has no Batch mode (editor and judge only)")
        self.role = role
        self.output_forms: dict[str, str] = {}  # batch name → "inline" | "file", as last read by results()

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
        self.output_forms[name] = "file" if job.dest and job.dest.file_name else "inline"
        if job.dest and job.dest.file_name:
            async for key, response, error in self._file_items(job.dest.file_name):
                out[key] = self._typed(response, error)
            return out
        for item in (job.dest.inlined_responses if job.dest else None) or []:
            key = (item.metadata or {}).get("key")
            if key is not None:
                out[key] = self._typed(item.response, getattr(item.error, "message", None) if item.error else None)
        return out

    def _typed(self, response: types.GenerateContentResponse | None, error: str | None) -> Any:
        if error is not None or response is None:
            return Permanent(f"batch item failed: {error or 'no response'}")
        try:
            return self._batch_priced(self.role.batch_result(response))
        except BackendError as exc:
            return exc

    async def _file_items(self, file_name: str):
        """(key, response, error message) per line of a results file, streamed to disk (images are large)."""
        with tempfile.TemporaryDirectory(prefix="picobanana-batch-") as tmp:
            path = Path(tmp) / "results.jsonl"
            await self._call(self.role._client().aio.files.download(file=file_name, destination=str(path)))
            for line in _lines(path):
                entry = json.loads(line)
                key = entry.get("key") or (entry.get("metadata") or {}).get("key")
                if key is None:
                    continue
                error = entry.get("error") or entry.get("status")
                response = entry.get("response")
                yield (key, types.GenerateContentResponse.model_validate(response) if response else None,
                       (error.get("message") or str(error)) if error else None)

    def _batch_priced(self, result: Any) -> Any:
        usage = result.usage
        if not usage.cost_usd or self.role.service_tier == "flex":  # flex already halved it
            return result
        halved = usage.cost_usd * BATCH_DISCOUNT
        return result.model_copy(update={"usage": usage.model_copy(update={"cost_usd": halved})})

    async def wait(self, name: str, poll_s: float = 30.0, timeout_s: float | None = None) -> dict[str, Any]:
        started = time.monotonic()
        while (state := await self.state(name)) not in TERMINAL:
            if timeout_s is not None and time.monotonic() - started > timeout_s:
                raise Transient(f"batch {name} still {state} after {timeout_s:g} s")
            await asyncio.sleep(poll_s)
        return await self.results(name)


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as lines:
        for line in lines:
            if line.strip():
                yield line
