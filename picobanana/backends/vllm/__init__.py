"""The vLLM backend: `vllm serve` (OpenAI-compatible chat) for the writer, rewriter and judge, vllm-omni's
/v1/images/edits for the editor. Options per role: base_url, model, timeout_s, max_image_side (+ role extras,
see roles.py). The API key, if the server has one, comes from VLLM_API_KEY only.

The factories import roles.py (and so `openai`) only when a vLLM backend is created.
"""

from __future__ import annotations

from typing import Any


def create_writer(settings: Any = None, **options: Any):
    from picobanana.backends.vllm.roles import VllmWriter

    return VllmWriter(**options)


def create_rewriter(settings: Any = None, **options: Any):
    from picobanana.backends.vllm.roles import VllmRewriter

    return VllmRewriter(**options)


def create_editor(settings: Any = None, **options: Any):
    from picobanana.backends.vllm.roles import VllmEditor

    return VllmEditor(**options)


def create_judge(settings: Any = None, **options: Any):
    from picobanana.backends.vllm.roles import VllmJudge

    return VllmJudge(**options)
