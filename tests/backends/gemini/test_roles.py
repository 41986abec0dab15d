"""Each Gemini role through the real google-genai SDK against the loopback fake: shapes, outcomes, errors."""

from __future__ import annotations

import asyncio
import io
import socket

import pytest
from PIL import Image

from picobanana.backends.base import (
    Editor,
    EditRequest,
    InstructionRequest,
    InstructionWriter,
    Judge,
    JudgeRequest,
    Rewriter,
    RewriteRequest,
    Turn,
)
from picobanana.backends.gemini.prompts import PROMPT_VERSION
from picobanana.backends.registry import create_backend
from picobanana.errors import ConfigError, Permanent, RateLimited, Transient


def _roles(fake, **options):
    options = {"base_url": fake.url, "timeout_s": 5, **options}
    return [create_backend(role, "gemini", options) for role in ("writer", "rewriter", "editor", "judge")]


def _run(coro):
    return asyncio.run(coro)


def _edit(editor, photo, instruction="make it warmer"):
    return _run(editor.edit(EditRequest(image=photo, instruction=instruction, edit_type_id=1, seed=7)))


def test_all_four_roles_round_trip_with_checked_request_shapes(fake, photo):
    writer, rewriter, editor, judge = _roles(fake)
    assert isinstance(writer, InstructionWriter) and isinstance(rewriter, Rewriter)
    assert isinstance(editor, Editor) and isinstance(judge, Judge)
    written = _run(writer.write(InstructionRequest(image=photo, edit_type_id=1, seed=11)))
    assert written.eligible and "Change overall color tone" in written.instruction
    assert written.prompt_version == PROMPT_VERSION and written.model == "gemini-3.5-flash"
    assert written.model_version == "gemini-3.5-flash-fake-001"
    assert written.usage.input_tokens == 120 and written.usage.output_tokens == 50  # thinking bills as output
    short = _run(rewriter.rewrite(RewriteRequest(instruction=written.instruction, edit_type_id=1)))
    assert short.short_instruction and len(short.short_instruction.split()) <= 8
    edited = _edit(editor, photo, written.instruction)
    assert edited.status == "ok" and edited.model_version == "gemini-3.1-flash-image-fake-001"
    assert edited.usage.images_out == 1 and edited.usage.output_tokens == 1290
    with Image.open(io.BytesIO(edited.image)) as out, Image.open(io.BytesIO(photo)) as src:
        assert out.size == src.size and out.convert("RGB").tobytes() != src.convert("RGB").tobytes()
    verdict = _run(judge.judge(JudgeRequest(original=photo, edited=edited.image, instruction=written.instruction,
                                            edit_type_id=1)))
    assert (verdict.compliance, verdict.overall) == (0.9, 0.9) and verdict.prompt_version == PROMPT_VERSION
    assert verdict.model == "gemini-3.1-pro-preview" and verdict.rationale.startswith("fake judge")
    assert fake.violations == []
    assert [r["role"] for r in fake.requests] == ["writer", "rewriter", "editor", "judge"]
    assert all(r["api_version"] == "v1" and r["key_sent"] for r in fake.requests)
    assert fake.calls("editor")[0]["modalities"] == ["IMAGE"] and fake.calls("writer")[0]["seed"] == 11


def test_the_fake_rejects_a_judge_that_sends_the_original_first(fake, photo):
    _, _, editor, judge = _roles(fake)
    edited = _edit(editor, photo)
    with pytest.raises(Permanent, match="edited image must come first"):
        _run(judge.judge(JudgeRequest(original=edited.image, edited=photo, instruction="x", edit_type_id=1)))
    assert fake.violations


def test_chain_history_reaches_the_writer_prompt(fake, photo):
    writer = _roles(fake)[0]
    history = (Turn(edit_type_id=1, instruction="add a red hat to the man"),)
    result = _run(writer.write(InstructionRequest(image=photo, edit_type_id=2, seed=1, history=history)))
    assert result.eligible and fake.violations == []


@pytest.mark.parametrize(("entry", "status", "reason"), [
    ("prompt_blocked", "blocked", "prompt blocked: SAFETY"),
    ("image_safety", "blocked", "output blocked: IMAGE_SAFETY"),
    ("no_image", "no_image", "no image (NO_IMAGE)"),
    ("text_only", "no_image", "I can't edit this image"),
    ("garbage_image", "api_error", "undecodable image (image/png)"),
])
def test_editor_typed_outcomes(fake, photo, entry, status, reason):
    editor = _roles(fake)[2]
    fake.script("editor", entry)
    result = _edit(editor, photo)
    assert result.status == status and reason in result.reason and result.image is None
    assert result.model_version == "gemini-3.1-flash-image-fake-001"


def test_editor_refuses_a_non_image_input_without_a_call(fake):
    result = _edit(_roles(fake)[2], b"GIF89a not supported")
    assert result.status == "invalid_input" and fake.requests == []


@pytest.mark.parametrize(("entry", "error", "match"), [
    ("rate_limited", RateLimited, "429 RESOURCE_EXHAUSTED"),
    ("overloaded", Transient, "503 UNAVAILABLE"),
    ("bad_request", Permanent, "400 INVALID_ARGUMENT"),
])
def test_http_errors_are_classified_for_the_runner(fake, photo, entry, error, match):
    fake.script("editor", entry)
    with pytest.raises(error, match=match) as caught:
        _edit(_roles(fake)[2], photo)
    assert type(caught.value) is error
    if error is RateLimited:
        assert caught.value.retry_after == pytest.approx(0.05)


def test_retry_info_delay_parsed_from_the_wire(api_key, photo):
    from picobanana.backends.gemini.fake_server import FakeGemini

    with FakeGemini(retry_delay="12s") as fake:
        fake.script("writer", "rate_limited")
        with pytest.raises(RateLimited) as caught:
            _run(_roles(fake)[0].write(InstructionRequest(image=photo, edit_type_id=1)))
    assert caught.value.retry_after == 12.0


def test_a_slow_answer_times_out_as_transient(api_key, photo):
    from picobanana.backends.gemini.fake_server import FakeGemini

    with FakeGemini(slow_s=2.0) as fake:
        fake.script("editor", "slow")
        with pytest.raises(Transient, match="timed out"):
            _edit(_roles(fake, timeout_s=0.3)[2], photo)


def test_a_refused_connection_is_transient(api_key, photo):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    editor = create_backend("editor", "gemini", {"base_url": f"http://127.0.0.1:{port}", "timeout_s": 2})
    with pytest.raises(Transient):
        _edit(editor, photo)


@pytest.mark.parametrize(("role", "entry", "error", "match"), [
    ("writer", "truncated", Permanent, "truncated JSON"),
    ("rewriter", "truncated", Permanent, "truncated JSON"),
    ("writer", "malformed", Transient, "does not match the schema"),
    ("rewriter", "prompt_blocked", Permanent, "prompt blocked"),
    ("writer", "image_safety", Permanent, "output blocked"),
])
def test_json_roles_fail_typed(fake, photo, role, entry, error, match):
    writer, rewriter, _, _ = _roles(fake)
    fake.script(role, entry)
    with pytest.raises(error, match=match):
        if role == "writer":
            _run(writer.write(InstructionRequest(image=photo, edit_type_id=1)))
        else:
            _run(rewriter.rewrite(RewriteRequest(instruction="make the sky pink", edit_type_id=1)))


def test_judge_truncated_json_is_permanent(fake, photo):
    _, _, editor, judge = _roles(fake)
    edited = _edit(editor, photo)
    fake.script("judge", "truncated")
    with pytest.raises(Permanent, match="truncated JSON"):
        _run(judge.judge(JudgeRequest(original=photo, edited=edited.image, instruction="x", edit_type_id=1)))


def test_writer_may_say_not_eligible(fake, photo):
    fake.script("writer", "ineligible")
    result = _run(_roles(fake)[0].write(InstructionRequest(image=photo, edit_type_id=20)))
    assert not result.eligible and result.reason == "fake: not applicable"


def test_presets_model_override_flex_tier_and_price(fake, photo):
    paper = _roles(fake, preset="paper")
    assert [r.model for r in paper] == ["gemini-2.5-flash", "gemini-2.5-flash", "gemini-2.5-flash-image",
                                        "gemini-2.5-pro"]
    editor = create_backend("editor", "gemini", {"base_url": fake.url, "model": "gemini-3-pro-image",
                                                 "service_tier": "flex",
                                                 "price": {"output_per_mtok": 120.0, "input_per_mtok": 2.0}})
    result = _edit(editor, photo)
    assert fake.calls("editor")[-1]["model"] == "gemini-3-pro-image"
    assert str(fake.calls("editor")[-1]["service_tier"]).lower() == "flex"
    assert result.usage.cost_usd == pytest.approx((300 * 2.0 + 1290 * 120.0) / 1e6 / 2)  # flex = -50%
    with pytest.raises(ConfigError, match="unknown gemini preset"):
        create_backend("judge", "gemini", {"preset": "nope"})
    with pytest.raises(ConfigError, match="service_tier"):
        create_backend("judge", "gemini", {"service_tier": "cheap"})
    with pytest.raises(ConfigError, match="rejected its options"):
        create_backend("judge", "gemini", {"api_key": "never-an-option"})


def test_the_key_comes_from_the_environment_only(monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="GEMINI_API_KEY"):
        create_backend("writer", "gemini", {})
    monkeypatch.setenv("GOOGLE_API_KEY", "from-google-var")
    assert create_backend("writer", "gemini", {}).model == "gemini-3.5-flash"


def test_backends_check_reports_each_role_and_the_served_version(fake):
    import picobanana.cli.main  # noqa: F401 — cli.backends must be imported through the CLI package (import cycle)
    from picobanana.cli.backends import check_roles
    from picobanana.pipeline.spec import JobSpec, RoleSettings

    fake.unknown_models.add("gemini-3.1-pro-preview")
    roles = {r: RoleSettings(backend="gemini", options={"base_url": fake.url}) for r in ("writer", "rewriter",
                                                                                        "editor", "judge")}
    rows = {row["role"]: row for row in asyncio.run(check_roles(JobSpec(roles=roles)))}
    assert rows["editor"]["ok"] is True and rows["editor"]["model_version"] == "fake-001"
    assert rows["writer"]["model"] == "gemini-3.5-flash" and rows["writer"]["ok"] is True
    assert rows["judge"]["ok"] is False and "404" in rows["judge"]["detail"]
