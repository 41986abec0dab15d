"""A scripted, deterministic fake backend for tests, benchmarks and demos. It is a real backend (it speaks
the protocols of base.py), not a mock of the pipeline: the pipeline cannot tell it from a model service.

Scripts are consumed one entry per call, in call order per role (use concurrency 1 for an exact order);
when a script runs out, every further call succeeds. Script entries:

    "ok"            the call succeeds
    "rate_limited"  raises RateLimited(retry_after=FakeScript.retry_after)
    "transient"     raises Transient          "permanent"  raises Permanent
    "hang"          sleeps far beyond any sane timeout (the pipeline's timeout must fire)
    editor only:    "no_image", "blocked", "api_error", "unsupported"  → EditResult with that status
    judge only:     a float s (all four sub-scores = s) or a list of four floats

The edited image is a real PIL transform of the input (brightness and a colour shift that depend on the
seed), so outputs differ from their inputs and from each other.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageEnhance, ImageOps

from picobanana.backends.base import (
    EditRequest,
    EditResult,
    InstructionRequest,
    InstructionResult,
    JudgeRequest,
    JudgeResult,
    RewriteRequest,
    RewriteResult,
    Usage,
)
from picobanana.errors import Permanent, RateLimited, Transient
from picobanana.taxonomy import edit_type_by_id

_EDIT_STATUSES = {"no_image", "blocked", "api_error", "unsupported", "invalid_input"}


@dataclass
class FakeScript:
    latency_s: float = 0.0
    script: list[Any] = field(default_factory=list)
    retry_after: float | None = 0.05
    default_score: float = 0.9
    ineligible_types: dict[int, str] = field(default_factory=dict)  # writer: type id → reason
    usage: dict[str, int] = field(default_factory=dict)  # reported Usage per call (for cost tests)
    hang_s: float = 3600.0


class _FakeBase:
    role = "fake"

    def __init__(self, **options: Any):
        ineligible = {int(k): v for k, v in options.pop("ineligible_types", {}).items()}
        self.config = FakeScript(ineligible_types=ineligible, **options)
        self.name = "fake"
        self.calls = 0
        self.requests: list[Any] = []  # every request received, for tests that inspect what the pipeline sent
        self._cursor = 0

    def _next(self) -> Any:
        self.calls += 1
        if self._cursor < len(self.config.script):
            entry = self.config.script[self._cursor]
            self._cursor += 1
            return entry
        return "ok"

    async def _call(self, request: Any) -> Any:
        self.requests.append(request)
        entry = self._next()
        if self.config.latency_s:
            await asyncio.sleep(self.config.latency_s)
        if entry == "rate_limited":
            raise RateLimited("fake 429", retry_after=self.config.retry_after)
        if entry == "transient":
            raise Transient("fake 503")
        if entry == "permanent":
            raise Permanent("fake 400 bad request")
        if entry == "hang":
            await asyncio.sleep(self.config.hang_s)
        return entry

    def _usage(self) -> Usage:
        return Usage(**self.config.usage)


class FakeWriter(_FakeBase):
    async def write(self, request: InstructionRequest) -> InstructionResult:
        await self._call(request)
        edit_type = edit_type_by_id(request.edit_type_id)
        reason = self.config.ineligible_types.get(request.edit_type_id)
        if reason:
            return InstructionResult(eligible=False, reason=reason, model="fake-writer", usage=self._usage())
        text = f"{edit_type.name}, variant {request.seed % 100_000}"
        if request.history:
            text = f"Now, after '{request.history[-1].instruction}', apply to it: {text}"
        return InstructionResult(instruction=text, hint={"seed": request.seed, "turns_before": len(request.history)},
                                 model="fake-writer", model_version="1", prompt_version="fake-1",
                                 usage=self._usage())


class FakeRewriter(_FakeBase):
    async def rewrite(self, request: RewriteRequest) -> RewriteResult:
        await self._call(request)
        return RewriteResult(short_instruction=request.instruction[:60], model="fake-rewriter", usage=self._usage())


def _transform(image: bytes, seed: int) -> bytes:
    with Image.open(io.BytesIO(image)) as opened:
        img = opened.convert("RGB")
    img = ImageEnhance.Brightness(img).enhance(0.6 + (seed % 7) / 10)
    r, g, b = img.split()
    img = Image.merge("RGB", (b, r, g)) if seed % 2 else ImageOps.posterize(img, 3 + seed % 4)
    out = io.BytesIO()
    img.save(out, format="PNG", compress_level=1)
    return out.getvalue()


class FakeEditor(_FakeBase):
    async def edit(self, request: EditRequest) -> EditResult:
        entry = await self._call(request)
        if entry in _EDIT_STATUSES:
            return EditResult(status=entry, reason=f"fake {entry}", model="fake-editor")
        return EditResult(status="ok", image=_transform(request.image, request.seed), model="fake-editor",
                          model_version="1", usage=self._usage())


class FakeJudge(_FakeBase):
    async def judge(self, request: JudgeRequest) -> JudgeResult:
        entry = await self._call(request)
        if isinstance(entry, (int, float)):
            scores = [float(entry)] * 4
        elif isinstance(entry, (list, tuple)):
            scores = [float(s) for s in entry]
        else:
            scores = [self.config.default_score] * 4
        return JudgeResult(compliance=scores[0], seamlessness=scores[1], preservation=scores[2], quality=scores[3],
                           overall=sum(scores) / 4, rationale=f"fake judge: scripted {scores}",
                           model="fake-judge", model_version="1", usage=self._usage())


def create_writer(**options: Any) -> FakeWriter:
    return FakeWriter(**options)


def create_rewriter(**options: Any) -> FakeRewriter:
    return FakeRewriter(**options)


def create_editor(**options: Any) -> FakeEditor:
    return FakeEditor(**options)


def create_judge(**options: Any) -> FakeJudge:
    return FakeJudge(**options)
