"""The four roles over vLLM's OpenAI-compatible API (and vllm-omni's /v1/images/edits for the editor).

Text and vision roles use chat.completions with JSON-schema constrained decoding sent as
`extra_body={"structured_outputs": {"json": schema}}` (or `response_format` json_schema with
`structured="response_format"`). Never `guided_json`: vLLM ≥ 0.12 accepts and silently ignores it.
Images go as data-URL `image_url` parts, downscaled to ≤ max_image_side.

Every call either returns a typed result or raises a picobanana BackendError (see errors.py): an invalid JSON
reply is Transient (another sample usually parses), so the runner retries it and finally records the reason.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Literal

import openai
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
from picobanana.backends.vllm import prompts
from picobanana.backends.vllm.client import ClientHolder, data_url, encode_async
from picobanana.backends.vllm.errors import classify, error_message
from picobanana.errors import ImageError, Permanent, Transient

DEFAULT_URLS = {"writer": "http://localhost:8000/v1", "judge": "http://localhost:8000/v1",
                "rewriter": "http://localhost:8001/v1", "editor": "http://localhost:8002/v1"}
DEFAULT_MODELS = {"writer": "judge", "judge": "judge", "rewriter": "rewriter", "editor": "editor"}
_BLOCK_WORDS = ("content policy", "content_policy", "safety", "moderation", "nsfw", "blocked")


class _VllmRole:
    role = ""

    def __init__(self, base_url: str | None = None, model: str | None = None, timeout_s: float = 120.0,
                 max_image_side: int | None = 1024, temperature: float = 0.7, max_tokens: int = 1024,
                 structured: Literal["structured_outputs", "response_format"] = "structured_outputs",
                 extra_body: dict[str, Any] | None = None):
        if structured not in ("structured_outputs", "response_format"):
            raise ValueError(f"structured must be 'structured_outputs' or 'response_format', not {structured!r}")
        self.name = "vllm"
        self.base_url = base_url or DEFAULT_URLS[self.role]
        self.model = model or DEFAULT_MODELS[self.role]
        self.max_image_side = max_image_side
        self.temperature, self.max_tokens, self.structured = temperature, max_tokens, structured
        self.extra_body = dict(extra_body or {})
        self._client = ClientHolder(self.base_url, timeout_s)

    async def check(self) -> dict:
        """Does the service answer, and which models does it serve (GET /v1/models)?"""
        try:
            page = await self._client.get().models.list()
        except Exception as exc:  # noqa: BLE001 — reported, not raised: `backends check` lists every role
            return {"ok": False, "base_url": self.base_url, "model": self.model, "detail": str(classify(exc, self.role))}
        served = [m.id for m in page.data]
        ok = self.model in served
        return {"ok": ok, "base_url": self.base_url, "model": self.model, "served": served,
                "detail": "serving" if ok else f"model {self.model!r} not served (serves: {', '.join(served)})"}

    async def _image(self, image: bytes, what: str) -> str:
        try:  # off the event loop when it re-encodes: that takes milliseconds of CPU
            return data_url(*await encode_async(image, self.max_image_side))
        except ImageError as exc:
            raise Permanent(f"vllm {self.role}: {what} {exc}") from exc

    async def _json_call(self, content: list[dict]) -> tuple[BaseModel, Any]:
        schema_name, schema, reply_model = prompts.SCHEMAS[self.role]
        body = dict(self.extra_body)
        kwargs: dict[str, Any] = {}
        if self.structured == "response_format":
            kwargs["response_format"] = {"type": "json_schema",
                                         "json_schema": {"name": schema_name, "schema": schema, "strict": True}}
        else:
            body["structured_outputs"] = {"json": schema}
        try:
            response = await self._client.get().chat.completions.create(
                model=self.model, messages=[{"role": "user", "content": content}], temperature=self.temperature,
                max_tokens=self.max_tokens, extra_body=body, **kwargs)
        except openai.OpenAIError as exc:
            raise classify(exc, self.role) from exc
        if not response.choices:
            raise Transient(f"vllm {self.role}: reply has no choices")
        choice = response.choices[0]
        text = choice.message.content or ""
        try:
            reply = reply_model.model_validate(json.loads(text))
        except (json.JSONDecodeError, ValidationError) as exc:
            cut = " (cut off by max_tokens)" if choice.finish_reason == "length" else ""
            raise Transient(f"vllm {self.role}: invalid JSON reply{cut}: {str(exc).splitlines()[0][:200]}") from exc
        return reply, response

    def _usage(self, response: Any) -> Usage:
        u = getattr(response, "usage", None)
        return Usage(input_tokens=getattr(u, "prompt_tokens", 0) or 0, output_tokens=getattr(u, "completion_tokens", 0) or 0)


def _text(text: str) -> dict:
    return {"type": "text", "text": text}


def _image_part(url: str) -> dict:
    return {"type": "image_url", "image_url": {"url": url}}


class VllmWriter(_VllmRole):
    role = "writer"

    async def write(self, request: InstructionRequest) -> InstructionResult:
        content = [_image_part(await self._image(request.image, "source image:")),
                   _text(prompts.writer_prompt(request.edit_type_id, request.history))]
        reply, response = await self._json_call(content)
        common = {"model": self.model, "model_version": response.model, "prompt_version": prompts.PROMPT_VERSION,
                  "usage": self._usage(response)}
        if not reply.eligible:
            return InstructionResult(eligible=False, reason=(reply.reason or "not eligible (no reason given)")[:300],
                                     **common)
        if not (reply.instruction or "").strip():
            raise Transient("vllm writer: eligible reply without an instruction")
        return InstructionResult(instruction=reply.instruction.strip(), hint={}, **common)


class VllmRewriter(_VllmRole):
    role = "rewriter"

    async def rewrite(self, request: RewriteRequest) -> RewriteResult:
        reply, response = await self._json_call([_text(prompts.rewriter_prompt(request.instruction,
                                                                               request.edit_type_id))])
        return RewriteResult(short_instruction=reply.short_instruction.strip(), model=self.model,
                             model_version=response.model, usage=self._usage(response))


class VllmJudge(_VllmRole):
    role = "judge"

    async def judge(self, request: JudgeRequest) -> JudgeResult:
        content = [_image_part(await self._image(request.edited, "edited image:")),
                   _image_part(await self._image(request.original, "original image:")),
                   _text(prompts.judge_prompt(request.instruction, request.edit_type_id))]
        reply, response = await self._json_call(content)
        return JudgeResult(**reply.model_dump(), model=self.model, model_version=response.model,
                           prompt_version=prompts.PROMPT_VERSION, usage=self._usage(response))


class VllmEditor:
    """vllm-omni's POST /v1/images/edits (multipart `image[]` + prompt), b64_json reply."""

    role = "editor"

    def __init__(self, base_url: str | None = None, model: str | None = None, timeout_s: float = 300.0,
                 max_image_side: int | None = 2048, size: str | None = None, num_inference_steps: int | None = None,
                 true_cfg_scale: float | None = None, guidance_scale: float | None = None,
                 negative_prompt: str | None = None, extra_body: dict[str, Any] | None = None):
        self.name = "vllm"
        self.base_url = base_url or DEFAULT_URLS["editor"]
        self.model = model or DEFAULT_MODELS["editor"]
        self.max_image_side, self.size = max_image_side, size
        params = {"num_inference_steps": num_inference_steps, "true_cfg_scale": true_cfg_scale,
                  "guidance_scale": guidance_scale, "negative_prompt": negative_prompt}
        self.extra_body = {k: v for k, v in params.items() if v is not None} | dict(extra_body or {})
        self._client = ClientHolder(self.base_url, timeout_s)

    check = _VllmRole.check

    async def edit(self, request: EditRequest) -> EditResult:
        try:
            data, mime = await encode_async(request.image, self.max_image_side)
        except ImageError as exc:
            return EditResult(status="invalid_input", reason=str(exc)[:300], model=self.model)
        kwargs: dict[str, Any] = {"size": self.size} if self.size else {}
        try:
            name = "src." + mime.split("/")[1].replace("jpeg", "jpg")
            response = await self._client.get().images.edit(
                model=self.model, image=[(name, data, mime)], prompt=prompts.editor_prompt(request.instruction),
                response_format="b64_json", extra_body={"seed": request.seed % 2**31, **self.extra_body}, **kwargs)
        except openai.APIStatusError as exc:
            message = error_message(exc)
            if exc.status_code == 400 and any(w in message.lower() for w in _BLOCK_WORDS):
                return EditResult(status="blocked", reason=f"vllm editor: {message[:300]}", model=self.model)
            raise classify(exc, self.role) from exc
        except openai.OpenAIError as exc:
            raise classify(exc, self.role) from exc
        data = [d for d in (response.data or []) if d.b64_json]
        if not data:
            return EditResult(status="no_image", reason="vllm editor: reply has no image data", model=self.model)
        try:
            image = base64.b64decode(data[0].b64_json, validate=True)
        except ValueError:
            return EditResult(status="no_image", reason="vllm editor: image data is not valid base64", model=self.model)
        return EditResult(status="ok", image=image, model=self.model, model_version=self.model,
                          usage=Usage(images_out=1))
