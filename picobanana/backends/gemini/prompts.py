"""Our prompts for every Gemini role, in one place. Change any text here → bump PROMPT_VERSION: it is stored
with every attempt (writer) and every judgment (judge), so datasets stay traceable to the words that made them.

Schemas are sent as `response_json_schema`, never repeated in the prompt (the service enforces them).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from picobanana.backends.base import Turn
from picobanana.taxonomy import edit_type_by_id

PROMPT_VERSION = "gemini-2026.11-1"

# Per-category guidance: what a good instruction of that family names explicitly.
_CATEGORY_GUIDANCE = {
    "pixel-photometric": "Name the global adjustment and its direction/strength (e.g. warmer, +1 stop, film grain).",
    "object-level-semantic": "Name the exact object, where it is in the image, and what it becomes; keep everything else.",
    "scene-composition": "Describe the new scene element or background precisely and how it blends with lighting.",
    "spatial-layout": "Say which object moves or is rearranged, from where to where, and what fills the gap.",
    "stylistic": "Name the target style by its visual traits (palette, strokes, texture), keep the composition.",
    "text-symbol": "Quote the exact text to add or change, its location, font feel and colour.",
    "human-centric": "Refer to the person by position/appearance; keep identity, pose and the rest unchanged.",
    "scale-perspective": "Give the new framing or viewpoint (zoom factor, direction, outpaint side) explicitly.",
}


class WriterAnswer(BaseModel):
    eligible: bool = Field(description="false when this edit type cannot apply to this image")
    reason: str = Field("", description="why not eligible; empty when eligible")
    instruction: str = Field("", description="the detailed, image-grounded editing instruction")


class RewriterAnswer(BaseModel):
    short_instruction: str = Field(min_length=1)


class JudgeAnswer(BaseModel):
    instruction_compliance: float = Field(ge=0, le=1)
    editing_realism: float = Field(ge=0, le=1)
    preservation_balance: float = Field(ge=0, le=1)
    technical_quality: float = Field(ge=0, le=1)
    reasoning: str
    overall: float = Field(ge=0, le=1)


def _type_lines(edit_type_id: int) -> str:
    t = edit_type_by_id(edit_type_id)
    needs = []
    if t.needs_person:
        needs.append("it needs a clearly visible person")
    if t.needs_text:
        needs.append("it needs visible text or a sign-like surface")
    lines = [f"Edit type: {t.name}", f"Category: {t.category.name} ({t.scope} edit)",
             f"Guidance: {_CATEGORY_GUIDANCE.get(t.category.slug, 'Be specific and grounded in the image.')}"]
    if needs:
        lines.append("Eligibility: " + "; ".join(needs) + ". If the image lacks it, answer eligible=false.")
    return "\n".join(lines)


def writer_prompt(edit_type_id: int, history: tuple[Turn, ...] = ()) -> str:
    parts = ["You write one instruction for an image-editing model, for the attached photo.",
             _type_lines(edit_type_id),
             ("Write 1-3 sentences a skilled retoucher could follow: refer to concrete things you see, "
              "say what changes and what must stay the same. Do not describe the whole image.")]
    if history:
        done = "\n".join(f"{i + 1}. {turn.instruction}" for i, turn in enumerate(history))
        parts.append("The photo is the result of these earlier edits, in order:\n" + done +
                     "\nWrite the NEXT edit; you may refer back to things added earlier ('it', 'the hat').")
    return "\n\n".join(parts)


def rewriter_prompt(instruction: str, edit_type_id: int) -> str:
    return ("Rewrite this image-editing instruction the way a user would type it: one short sentence, "
            "at most 15 words, same edit, no new details.\n\n"
            f"{_type_lines(edit_type_id).splitlines()[0]}\nInstruction: {instruction}")


def editor_prompt(instruction: str) -> str:
    return f"Edit the attached image. {instruction.strip()} Keep everything not mentioned unchanged."


def judge_prompt(instruction: str, edit_type_id: int) -> str:
    return ("You are a strict judge of image edits. The FIRST image is the EDITED result, the SECOND image is "
            "the ORIGINAL. Score each criterion from 0 (fails) to 1 (perfect):\n"
            "- instruction_compliance: the requested change is fully and correctly made;\n"
            "- editing_realism: the edit is seamless, plausible lighting, no artifacts at boundaries;\n"
            "- preservation_balance: everything not requested is unchanged (identity, layout, background);\n"
            "- technical_quality: sharpness, no distortions, no colour banding.\n"
            "Give a short reasoning and an overall score.\n\n"
            f"{_type_lines(edit_type_id)}\nInstruction: {instruction}")
