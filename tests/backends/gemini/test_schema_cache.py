"""JSON roles build their response schema once, not on every request (pydantic's schema generation was a
visible share of the Gemini client's CPU in bench/bench_backends.py), and still send it with every request."""

from __future__ import annotations

import asyncio

from picobanana.backends.base import RewriteRequest
from picobanana.backends.gemini import prompts
from picobanana.backends.gemini.roles import json_schema
from picobanana.backends.registry import create_backend


def test_the_schema_is_built_once_and_sent_with_every_request(fake, monkeypatch):
    built = []
    original = prompts.RewriterAnswer.model_json_schema.__func__

    def counting(cls, *args, **kwargs):
        built.append(cls)
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(prompts.RewriterAnswer, "model_json_schema", classmethod(counting))
    rewriter = create_backend("rewriter", "gemini", {"base_url": fake.url})

    async def three():
        for i in range(3):
            await rewriter.rewrite(RewriteRequest(instruction=f"make the sky warmer {i}", edit_type_id=1))

    asyncio.run(three())
    assert len(built) <= 1
    assert [r["has_schema"] for r in fake.calls("rewriter")] == [True, True, True]


def test_each_request_gets_its_own_copy_of_the_schema():
    first = json_schema(prompts.JudgeAnswer)
    first["properties"].clear()
    assert json_schema(prompts.JudgeAnswer) == prompts.JudgeAnswer.model_json_schema()
