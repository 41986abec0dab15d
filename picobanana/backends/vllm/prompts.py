"""Our prompts for the vLLM roles, in one place and versioned: PROMPT_VERSION is stored with every attempt,
so a change of wording is visible in the data. Bump it whenever a prompt or a schema changes.

The JSON schemas are what vLLM's structured outputs constrain decoding to; the pydantic models validate
the reply (a constrained decoder can still be cut off by max_tokens).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from picobanana.backends.base import Turn
from picobanana.taxonomy import edit_type_by_id

PROMPT_VERSION = "vllm-1"


class WriterReply(BaseModel):
    model_config = ConfigDict(extra="ignore")
    eligible: bool
    reason: str | None = None
    instruction: str | None = None


class RewriterReply(BaseModel):
    model_config = ConfigDict(extra="ignore")
    short_instruction: str = Field(min_length=1)


class JudgeReply(BaseModel):
    model_config = ConfigDict(extra="ignore")
    compliance: float = Field(ge=0, le=1)
    seamlessness: float = Field(ge=0, le=1)
    preservation: float = Field(ge=0, le=1)
    quality: float = Field(ge=0, le=1)
    overall: float = Field(ge=0, le=1)
    rationale: str = ""


def _schema(properties: dict, required: list[str]) -> dict:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


_SCORE = {"type": "number", "minimum": 0, "maximum": 1}
WRITER_SCHEMA = _schema({"eligible": {"type": "boolean"}, "reason": {"type": ["string", "null"]},
                         "instruction": {"type": ["string", "null"]}}, ["eligible", "reason", "instruction"])
REWRITER_SCHEMA = _schema({"short_instruction": {"type": "string", "minLength": 1}}, ["short_instruction"])
JUDGE_SCHEMA = _schema({"compliance": _SCORE, "seamlessness": _SCORE, "preservation": _SCORE, "quality": _SCORE,
                        "overall": _SCORE, "rationale": {"type": "string"}},
                       ["compliance", "seamlessness", "preservation", "quality", "overall", "rationale"])

SCHEMAS = {"writer": ("instruction", WRITER_SCHEMA, WriterReply), "rewriter": ("short_instruction", REWRITER_SCHEMA,
           RewriterReply), "judge": ("judgment", JUDGE_SCHEMA, JudgeReply)}


def _needs(edit_type) -> str:
    needs = []
    if edit_type.needs_person:
        needs.append("a clearly visible person")
    if edit_type.needs_text:
        needs.append("legible text or a sign")
    return " and ".join(needs)


def writer_prompt(edit_type_id: int, history: tuple[Turn, ...] = ()) -> str:
    et = edit_type_by_id(edit_type_id)
    lines = [
        "You write instructions for an image-editing dataset.",
        f"Edit type: {et.name} (category: {et.category.name}; scope: {et.scope}).",
        ("Look at the image and write ONE detailed, image-grounded editing instruction of this type: name the "
         "concrete objects, regions, colours and positions you see, and say what must stay unchanged."),
    ]
    if needs := _needs(et):
        lines.append(f"This edit type needs {needs}. If the image has none, answer eligible=false with the reason.")
    lines.append("If this edit type cannot sensibly be applied to this image, answer eligible=false with a short "
                 "reason and instruction=null; otherwise eligible=true, reason=null.")
    if history:
        lines.append("The image is the result of these earlier edits, in order:")
        lines += [f"  {i}. {turn.instruction}" for i, turn in enumerate(history, 1)]
        lines.append("Write the next turn; you may refer back to what earlier turns added or changed.")
    lines.append('Reply with JSON only: {"eligible": bool, "reason": str|null, "instruction": str|null}.')
    return "\n".join(lines)


def rewriter_prompt(instruction: str, edit_type_id: int) -> str:
    et = edit_type_by_id(edit_type_id)
    return "\n".join([
        ("Rewrite this detailed image-editing instruction the way a user would type it: one short imperative "
         "sentence (at most 15 words), keeping the essential target and change, no explanations."),
        f"Edit type: {et.name}.",
        f"Detailed instruction: {instruction}",
        'Reply with JSON only: {"short_instruction": str}.',
    ])


def judge_prompt(instruction: str, edit_type_id: int) -> str:
    et = edit_type_by_id(edit_type_id)
    return "\n".join([
        "You judge an image edit. The FIRST image is the edited result, the SECOND is the original.",
        f"Instruction: {instruction}",
        f"Edit type: {et.name} (scope: {et.scope}).",
        "Score each criterion from 0 to 1:",
        "  compliance   — the requested change is fully and exactly carried out;",
        "  seamlessness — the edit looks natural, no visible seams, halos or artifacts;",
        "  preservation — everything the instruction did not ask to change is unchanged;",
        "  quality      — the result is sharp, well exposed and free of distortions.",
        "overall is your own overall judgment (0 to 1); rationale is one or two sentences.",
        ('Reply with JSON only: {"compliance": n, "seamlessness": n, "preservation": n, "quality": n, '
         '"overall": n, "rationale": str}.'),
    ])


def editor_prompt(instruction: str) -> str:
    return instruction  # image editing models take the instruction itself
