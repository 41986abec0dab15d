"""Gemini Batch mode through the SDK against the fake: submit, poll, ingest typed results, resume by name."""

from __future__ import annotations

import asyncio

import pytest

from picobanana.backends.base import EditRequest, JudgeRequest
from picobanana.backends.gemini.batch import GeminiBatch
from picobanana.backends.registry import create_backend
from picobanana.errors import Permanent, Transient


def test_editor_batch_resumes_by_name_and_keeps_typed_outcomes(fake, photo):
    options = {"base_url": fake.url, "price": {"output_per_mtok": 30.0}}
    fake.batch_pending_polls = 2
    fake.script("editor", "ok", "image_safety", "text_only")
    requests = {f"job1:src1:t1#a{n}": EditRequest(image=photo, instruction="warmer", edit_type_id=1, seed=n)
                for n in (1, 2, 3, 4)}

    async def submit() -> str:
        batch = GeminiBatch(create_backend("editor", "gemini", options))
        name = await batch.submit(requests, display_name="job1")
        assert await batch.state(name) == "JOB_STATE_RUNNING"
        with pytest.raises(Transient, match="RUNNING"):
            await batch.results(name)
        return name

    name = asyncio.run(submit())  # a "restart": a new process only needs the stored name
    results = asyncio.run(GeminiBatch(create_backend("editor", "gemini", options)).wait(name, poll_s=0.01))
    assert {k: r.status for k, r in results.items()} == {
        "job1:src1:t1#a1": "ok", "job1:src1:t1#a2": "blocked", "job1:src1:t1#a3": "no_image",
        "job1:src1:t1#a4": "ok"}
    ok = results["job1:src1:t1#a1"]
    assert ok.image and ok.model_version == "gemini-3.1-flash-image-fake-001"
    assert ok.usage.cost_usd == pytest.approx(1290 * 30.0 / 1e6 / 2)  # Batch = -50 %
    assert fake.violations == [] and len(fake.calls("editor")) == 4 and fake.batches[name]["display_name"] == "job1"


def test_judge_batch_items_fail_like_online_calls(fake, photo):
    editor = create_backend("editor", "gemini", {"base_url": fake.url})
    judge = create_backend("judge", "gemini", {"base_url": fake.url})
    edited = [asyncio.run(editor.edit(EditRequest(image=photo, instruction="x", edit_type_id=1, seed=n))).image
              for n in (1, 2, 3)]
    fake.script("judge", 0.3, "truncated", "rate_limited")
    requests = {f"a{n}": JudgeRequest(original=photo, edited=img, instruction="x", edit_type_id=1)
                for n, img in enumerate(edited)}
    batch = GeminiBatch(judge)

    async def run() -> dict:
        return await batch.wait(await batch.submit(requests), poll_s=0.01)

    results = asyncio.run(run())
    assert results["a0"].compliance == 0.3
    assert isinstance(results["a1"], Permanent) and "truncated JSON" in str(results["a1"])
    assert isinstance(results["a2"], Permanent) and "Resource exhausted" in str(results["a2"])
    assert fake.violations == []


def test_batch_errors_and_misuse(fake, photo):
    batch = GeminiBatch(create_backend("editor", "gemini", {"base_url": fake.url}))
    with pytest.raises(Permanent, match="404"):
        asyncio.run(batch.state("batches/unknown"))
    with pytest.raises(Permanent, match="empty"):
        asyncio.run(batch.submit({}))
    with pytest.raises(TypeError, match="no Batch mode"):
        GeminiBatch(create_backend("rewriter", "gemini", {"base_url": fake.url}))


def test_results_as_a_jsonl_file_match_the_inline_form(fake, photo):
    fake.script("editor", "ok", "no_image", "ok", "no_image")
    fake.script_batches("inline", "file")
    batch = GeminiBatch(create_backend("editor", "gemini", {"base_url": fake.url}))
    requests = {f"k{n}": EditRequest(image=photo, instruction="warmer", edit_type_id=1, seed=n) for n in (1, 2)}

    async def run() -> tuple[dict, dict]:
        inline = await batch.wait(await batch.submit(requests), poll_s=0.01)
        return inline, await batch.wait(await batch.submit(requests), poll_s=0.01)

    inline, from_file = asyncio.run(run())
    assert batch.output_forms == {"batches/fake1": "inline", "batches/fake2": "file"}
    assert list(fake.files) == ["fake2-results"]  # the SDK downloaded it through the files API
    for results in (inline, from_file):
        assert {k: r.status for k, r in results.items()} == {"k1": "ok", "k2": "no_image"}
        assert results["k1"].image.startswith(b"\x89PNG") and results["k1"].model_version
    assert fake.violations == []


@pytest.mark.parametrize("ending", ["failed", "expired", "cancelled"])
def test_a_batch_that_ends_without_output_says_so(fake, photo, ending):
    fake.script_batches(ending)
    batch = GeminiBatch(create_backend("editor", "gemini", {"base_url": fake.url}))

    async def run() -> str:
        name = await batch.submit({"k": EditRequest(image=photo, instruction="x", edit_type_id=1)})
        with pytest.raises(Permanent, match=f"JOB_STATE_{ending.upper()}"):
            await batch.wait(name, poll_s=0.01)
        return await batch.state(name)

    assert asyncio.run(run()) == f"JOB_STATE_{ending.upper()}"
