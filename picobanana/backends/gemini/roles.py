"""The four pipeline roles over `generate_content` (async). A role only calls its model and turns the answer
into a typed result; the runner owns concurrency, retries and storage (see picobanana/backends/base.py).

Outcomes (shared/reference/backends.md §1.5):
  editor  image part → ok · prompt blocked / IMAGE_SAFETY & kin → "blocked" · text only / NO_IMAGE → "no_image"
  JSON roles (writer, rewriter, judge): blocked prompt or output, or MAX_TOKENS truncation → Permanent (the same
  request would fail the same way); malformed JSON after STOP → Transient (a new sample can fix it)
  HTTP errors and timeouts → picobanana.errors via gemini/errors.py
"""

from __future__ import annotations

import asyncio
import copy
import functools
import io
from typing import Any

from google.genai import types
from PIL import Image
from pydantic import BaseModel, ValidationError

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
from picobanana.backends.gemini import prompts
from picobanana.backends.gemini.client import api_key, make_client
from picobanana.backends.gemini.errors import classify
from picobanana.backends.gemini.presets import SERVICE_TIERS, model_for
from picobanana.errors import ConfigError, Permanent, Transient

# Finish reasons meaning "the service refused to show the output" (vs. simply not producing an image).
BLOCKED_FINISH = {"SAFETY", "PROHIBITED_CONTENT", "SPII", "BLOCKLIST", "RECITATION", "IMAGE_SAFETY",
                  "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION"}
_TEXT_SNIPPET = 200


def image_mime(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise Permanent("input image is neither PNG, JPEG nor WebP")


def image_part(data: bytes) -> types.Part:
    return types.Part.from_bytes(data=data, mime_type=image_mime(data))


def _name(value: Any) -> str | None:
    if value is None:
        return None
    return getattr(value, "name", None) or str(value)


@functools.cache
def _schema(model: type[BaseModel]) -> dict:
    return model.model_json_schema()


def json_schema(model: type[BaseModel]) -> dict:
    """pydantic rebuilds a JSON schema on every call (~1 ms, 3 times per attempt: a visible share of the
    client's CPU at 64 calls in flight), so it is built once; each request gets its own copy."""
    return copy.deepcopy(_schema(model))


class Price(BaseModel):
    """Optional USD prices of this role's model; without them the job's price table applies."""

    input_per_mtok: float = 0.0
    output_per_mtok: float = 0.0
    per_image: float = 0.0


class _GeminiRole:
    role = ""

    def __init__(self, model: str | None = None, preset: str | None = None, service_tier: str | None = None,
                 timeout_s: float | None = None, base_url: str | None = None, api_version: str | None = None,
                 temperature: float | None = None, max_output_tokens: int | None = None,
                 price: dict | None = None, httpx_async_client: Any = None):
        if service_tier is not None and service_tier not in SERVICE_TIERS:
            raise ConfigError(f"gemini service_tier must be one of {', '.join(SERVICE_TIERS)}")
        self.model = model_for(self.role, preset, model)
        self.name = "gemini"
        self.service_tier = service_tier
        self.temperature = temperature
        self.max_output_tokens = max_output_tokens
        self.price = Price(**price) if price else None
        self._client_args = {"base_url": base_url, "api_version": api_version, "timeout_s": timeout_s,
                             "httpx_async_client": httpx_async_client}
        api_key()  # fail at configuration time when the key is missing (the key itself is not kept)
        self._clients: dict[int, Any] = {}

    def _client(self) -> Any:
        # An httpx2 async pool is bound to the event loop that first used it: one client per loop.
        loop_id = id(asyncio.get_running_loop())
        client = self._clients.get(loop_id)
        if client is None:
            self._clients = {loop_id: make_client(**self._client_args)}
            client = self._clients[loop_id]
        return client

    async def check(self) -> dict:
        """For `picobanana backends check`: does the service answer, and which version of the model it serves."""
        try:
            info = await self._client().aio.models.get(model=self.model)
        except Exception as exc:  # noqa: BLE001 — reported, not raised: the check lists every role
            return {"ok": False, "model": self.model, "detail": str(classify(exc, self.model))}
        return {"ok": True, "model": self.model, "model_version": info.version,
                "detail": f"serving {info.display_name or info.name} (version {info.version})"}

    def _config(self, seed: int | None = None, **extra: Any) -> types.GenerateContentConfig:
        if self.service_tier:
            extra["service_tier"] = self.service_tier
        if self.temperature is not None:
            extra["temperature"] = self.temperature
        if self.max_output_tokens is not None:
            extra["max_output_tokens"] = self.max_output_tokens
        if seed is not None:
            extra["seed"] = seed % 2**31
        # No tools are ever declared: automatic function calling off (and no "AFC is enabled" log line per call).
        return types.GenerateContentConfig(
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True), **extra)

    async def _generate(self, contents: list, config: types.GenerateContentConfig) -> types.GenerateContentResponse:
        try:
            return await self._client().aio.models.generate_content(model=self.model, contents=contents,
                                                                     config=config)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise classify(exc, self.model) from exc

    def _usage(self, response: types.GenerateContentResponse, images_out: int = 0) -> Usage:
        meta = response.usage_metadata
        tokens_in = (meta.prompt_token_count or 0) if meta else 0
        # Thinking tokens bill as output.
        tokens_out = ((meta.candidates_token_count or 0) + (meta.thoughts_token_count or 0)) if meta else 0
        cost = 0.0
        if self.price:
            cost = (tokens_in * self.price.input_per_mtok + tokens_out * self.price.output_per_mtok) / 1e6 \
                + images_out * self.price.per_image
            if self.service_tier == "flex":
                cost /= 2
        return Usage(input_tokens=tokens_in, output_tokens=tokens_out, images_out=images_out, cost_usd=cost)

    def _json_config(self, schema: type[BaseModel], seed: int | None = None) -> types.GenerateContentConfig:
        return self._config(seed, response_mime_type="application/json",
                            response_json_schema=json_schema(schema))

    async def _json(self, contents: list, schema: type[BaseModel], seed: int | None = None
                    ) -> tuple[BaseModel, types.GenerateContentResponse]:
        response = await self._generate(contents, self._json_config(schema, seed))
        return self._parse_json(response, schema), response

    def _parse_json(self, response: types.GenerateContentResponse, schema: type[BaseModel]) -> BaseModel:
        feedback = response.prompt_feedback
        if not response.candidates:
            reason = _name(feedback.block_reason) if feedback and feedback.block_reason else "no candidate"
            raise Permanent(f"{self.model}: prompt blocked ({reason})")
        finish = _name(response.candidates[0].finish_reason)
        if finish in BLOCKED_FINISH:
            raise Permanent(f"{self.model}: output blocked ({finish})")
        text = response.text or ""
        try:
            return schema.model_validate_json(text)
        except ValidationError as exc:
            if finish == "MAX_TOKENS":
                raise Permanent(f"{self.model}: truncated JSON (MAX_TOKENS after {len(text)} chars); "
                                "raise max_output_tokens") from exc
            raise Transient(f"{self.model}: answer does not match the schema ({finish}): "
                            f"{exc.errors()[0]['msg']}") from exc


class GeminiWriter(_GeminiRole):
    role = "writer"

    async def write(self, request: InstructionRequest) -> InstructionResult:
        prompt = prompts.writer_prompt(request.edit_type_id, request.history)
        answer, response = await self._json([image_part(request.image), prompt], prompts.WriterAnswer,
                                            request.seed)
        common = {"model": self.model, "model_version": response.model_version,
                  "prompt_version": prompts.PROMPT_VERSION, "usage": self._usage(response)}
        if not answer.eligible:
            return InstructionResult(eligible=False, reason=answer.reason or "not eligible", **common)
        if not answer.instruction.strip():
            raise Transient(f"{self.model}: eligible but empty instruction")
        return InstructionResult(instruction=answer.instruction.strip(), **common)


class GeminiRewriter(_GeminiRole):
    role = "rewriter"

    async def rewrite(self, request: RewriteRequest) -> RewriteResult:
        answer, response = await self._json([prompts.rewriter_prompt(request.instruction, request.edit_type_id)],
                                            prompts.RewriterAnswer, request.seed)
        return RewriteResult(short_instruction=answer.short_instruction.strip(), model=self.model,
                             model_version=response.model_version, usage=self._usage(response))


class GeminiEditor(_GeminiRole):
    role = "editor"

    def __init__(self, response_modalities: list[str] | None = None, aspect_ratio: str | None = None,
                 image_size: str | None = None, **options: Any):
        super().__init__(**options)
        self.response_modalities = response_modalities or ["IMAGE"]
        if "IMAGE" not in self.response_modalities:
            raise ConfigError("the gemini editor needs IMAGE in response_modalities")
        self.image_config = (types.ImageConfig(aspect_ratio=aspect_ratio, image_size=image_size)
                             if aspect_ratio or image_size else None)

    def batch_request(self, request: EditRequest) -> tuple[list, types.GenerateContentConfig]:
        """Contents and config of one edit (raises Permanent for a non-image input)."""
        config = self._config(request.seed, response_modalities=self.response_modalities,
                              image_config=self.image_config)
        return [image_part(request.image), prompts.editor_prompt(request.instruction)], config

    async def edit(self, request: EditRequest) -> EditResult:
        try:
            contents, config = self.batch_request(request)
        except Permanent as exc:
            return EditResult(status="invalid_input", reason=str(exc), model=self.model)
        return self.batch_result(await self._generate(contents, config))

    def batch_result(self, response: types.GenerateContentResponse) -> EditResult:
        """The typed outcome of one answer (shared by the synchronous call and Batch mode)."""
        common = {"model": self.model, "model_version": response.model_version}
        if not response.candidates:
            feedback = response.prompt_feedback
            reason = _name(feedback.block_reason) if feedback and feedback.block_reason else None
            if reason:
                return EditResult(status="blocked", reason=f"prompt blocked: {reason}", usage=self._usage(response),
                                  **common)
            return EditResult(status="no_image", reason="no candidate in the answer", usage=self._usage(response),
                              **common)
        candidate = response.candidates[0]
        finish = _name(candidate.finish_reason)
        parts = (candidate.content.parts if candidate.content and candidate.content.parts else [])
        images = [p.inline_data for p in parts if p.inline_data is not None and p.inline_data.data]
        if images:
            data = images[0].data
            try:
                with Image.open(io.BytesIO(data)) as opened:
                    opened.verify()
            except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
                return EditResult(status="api_error", reason=f"undecodable image ({images[0].mime_type})",
                                  usage=self._usage(response, len(images)), **common)
            return EditResult(status="ok", image=data, usage=self._usage(response, len(images)), **common)
        usage = self._usage(response)
        if finish in BLOCKED_FINISH:
            return EditResult(status="blocked", reason=f"output blocked: {finish}", usage=usage, **common)
        text = " ".join(p.text for p in parts if p.text).strip()
        reason = f"no image ({finish})" + (f": {text[:_TEXT_SNIPPET]}" if text else "")
        return EditResult(status="no_image", reason=reason, usage=usage, **common)


class GeminiJudge(_GeminiRole):
    role = "judge"

    def batch_request(self, request: JudgeRequest) -> tuple[list, types.GenerateContentConfig]:
        # Edited image FIRST, then the original, then the instruction (the paper's judge layout).
        contents = [image_part(request.edited), image_part(request.original),
                    prompts.judge_prompt(request.instruction, request.edit_type_id)]
        return contents, self._json_config(prompts.JudgeAnswer)

    async def judge(self, request: JudgeRequest) -> JudgeResult:
        contents, config = self.batch_request(request)
        return self.batch_result(await self._generate(contents, config))

    def batch_result(self, response: types.GenerateContentResponse) -> JudgeResult:
        """Raises Permanent/Transient like the synchronous call when the answer is unusable."""
        answer = self._parse_json(response, prompts.JudgeAnswer)
        return JudgeResult(compliance=answer.instruction_compliance, seamlessness=answer.editing_realism,
                           preservation=answer.preservation_balance, quality=answer.technical_quality,
                           overall=answer.overall, rationale=answer.reasoning, model=self.model,
                           model_version=response.model_version, prompt_version=prompts.PROMPT_VERSION,
                           usage=self._usage(response))
