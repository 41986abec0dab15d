"""The four backend roles and the typed messages they exchange with the pipeline.

    InstructionWriter  image + edit type (+ chain history) → long, image-grounded instruction, or "not eligible"
    Rewriter           long instruction → short, user-style instruction
    Editor             image + instruction → edited image, or a typed failure
    Judge              original + edited + instruction → four sub-scores in [0, 1], rationale, own overall

A backend only calls its model; the pipeline owns concurrency, rate limits, retries and storage. Every role is
chosen on its own in the config (e.g. Gemini edits, a local judge). Images travel as PNG/JPEG bytes so a
backend never depends on how the store keeps files.

Failures are data, not exceptions: an editor returns `EditResult(status="blocked", reason=...)`. Exceptions
from a backend mean "this call did not complete" and are classified by `picobanana.errors.BackendError`
subclasses (retryable or not) — see the pipeline runner.
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

EditStatus = Literal["ok", "no_image", "blocked", "api_error", "timeout", "unsupported", "invalid_input"]


class Usage(BaseModel):
    """What a call consumed; cost is computed from it with the price table in the config."""

    input_tokens: int = 0
    output_tokens: int = 0
    images_out: int = 0
    cost_usd: float = 0.0


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)


class Turn(_Message):
    """One earlier turn of a chain, for writing the next turn's instruction with coreference."""

    edit_type_id: int
    instruction: str
    hint: dict = Field(default_factory=dict)


class InstructionRequest(_Message):
    image: bytes
    edit_type_id: int
    seed: int = 0
    history: tuple[Turn, ...] = ()


class InstructionResult(_Message):
    eligible: bool = True
    reason: str | None = None  # why not eligible (e.g. "no person in the image")
    instruction: str | None = None
    # Structured facts of the instruction (e.g. {"direction": "warm"}): optional help for editors and judges
    # of the same family; a backend must also work from the text alone.
    hint: dict = Field(default_factory=dict)
    model: str | None = None
    model_version: str | None = None
    prompt_version: str | None = None
    usage: Usage = Field(default_factory=Usage)


class RewriteRequest(_Message):
    instruction: str
    edit_type_id: int
    seed: int = 0


class RewriteResult(_Message):
    short_instruction: str
    model: str | None = None
    model_version: str | None = None
    usage: Usage = Field(default_factory=Usage)


class EditRequest(_Message):
    image: bytes
    instruction: str
    edit_type_id: int
    hint: dict = Field(default_factory=dict)
    seed: int = 0


class EditResult(_Message):
    status: EditStatus
    image: bytes | None = None  # PNG or JPEG bytes when status == "ok"
    reason: str | None = None
    model: str | None = None
    model_version: str | None = None
    usage: Usage = Field(default_factory=Usage)


class JudgeRequest(_Message):
    original: bytes
    edited: bytes
    instruction: str
    edit_type_id: int
    hint: dict = Field(default_factory=dict)


class JudgeResult(_Message):
    compliance: float = Field(ge=0, le=1)
    seamlessness: float = Field(ge=0, le=1)
    preservation: float = Field(ge=0, le=1)
    quality: float = Field(ge=0, le=1)
    overall: float | None = Field(None, ge=0, le=1)
    rationale: str = ""
    model: str | None = None
    model_version: str | None = None
    prompt_version: str | None = None
    usage: Usage = Field(default_factory=Usage)


@runtime_checkable
class InstructionWriter(Protocol):
    name: str

    async def write(self, request: InstructionRequest) -> InstructionResult: ...


@runtime_checkable
class Rewriter(Protocol):
    name: str

    async def rewrite(self, request: RewriteRequest) -> RewriteResult: ...


@runtime_checkable
class Editor(Protocol):
    name: str

    async def edit(self, request: EditRequest) -> EditResult: ...


@runtime_checkable
class Judge(Protocol):
    name: str

    async def judge(self, request: JudgeRequest) -> JudgeResult: ...


ROLES = ("writer", "rewriter", "editor", "judge")
