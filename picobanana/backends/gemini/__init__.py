"""Gemini backend (google-genai 3.x): writer, rewriter, editor, judge over generate_content.

Options (per role, from the job spec; never an API key — that comes from GEMINI_API_KEY / GOOGLE_API_KEY):
    preset        "current" (default) or "paper"           model        overrides the preset's model
    service_tier  "standard" | "flex" | "priority"         timeout_s    per-request HTTP timeout
    base_url      a proxy or the wire-level fake            api_version  "v1" (SDK default), "v1beta", …
    temperature, max_output_tokens, price {input_per_mtok, output_per_mtok, per_image}
    editor only:  response_modalities (must contain IMAGE), aspect_ratio, image_size
Each factory imports the SDK only when called, so other backends never load it.
"""

from __future__ import annotations

from typing import Any


def create_writer(settings: Any = None, **options: Any):
    from picobanana.backends.gemini.roles import GeminiWriter

    return GeminiWriter(**options)


def create_rewriter(settings: Any = None, **options: Any):
    from picobanana.backends.gemini.roles import GeminiRewriter

    return GeminiRewriter(**options)


def create_editor(settings: Any = None, **options: Any):
    from picobanana.backends.gemini.roles import GeminiEditor

    return GeminiEditor(**options)


def create_judge(settings: Any = None, **options: Any):
    from picobanana.backends.gemini.roles import GeminiJudge

    return GeminiJudge(**options)
