"""The vLLM roles against the loopback fake: request shapes on the wire and every outcome, typed."""

from __future__ import annotations

import asyncio
import base64
import io
import json

import pytest
from backends.vllm.vllm_helpers import make_png
from PIL import Image

from picobanana.backends.base import EditRequest, InstructionRequest, JudgeRequest, RewriteRequest, Turn
from picobanana.backends.registry import create_backend
from picobanana.backends.vllm.fake_server import FakeVllmServer
from picobanana.backends.vllm.prompts import PROMPT_VERSION
from picobanana.errors import ConfigError, Permanent, RateLimited, Transient


def run(coro):
    return asyncio.run(coro)


def backend(role: str, server, **options):
    return create_backend(role, "vllm", {"base_url": server.url, **options})


def _data_url_image(url: str) -> Image.Image:
    assert url.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))


# -- writer -------------------------------------------------------------------------------------------------


def test_writer_sends_one_downscaled_data_url_and_a_json_schema_never_guided_json(server):
    big = make_png((2400, 1600))
    result = run(backend("writer", server).write(InstructionRequest(image=big, edit_type_id=1, seed=7)))
    assert result.eligible and "color tone" in result.instruction.lower()
    assert (result.model, result.model_version, result.prompt_version) == ("judge", "judge", PROMPT_VERSION)
    assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0
    body = server.requests[-1]["body"]
    assert "guided_json" not in body and "response_format" not in body
    assert body["structured_outputs"]["json"]["required"] == ["eligible", "reason", "instruction"]
    parts = body["messages"][0]["content"]
    images = [p for p in parts if p["type"] == "image_url"]
    assert len(images) == 1
    assert max(_data_url_image(images[0]["image_url"]["url"]).size) == 1024  # 2400 px → ≤ 1024 px


def test_writer_can_use_response_format_json_schema_instead(server, png):
    run(backend("writer", server, structured="response_format").write(InstructionRequest(image=png, edit_type_id=2)))
    body = server.requests[-1]["body"]
    assert body["response_format"]["type"] == "json_schema" and "structured_outputs" not in body
    assert "eligible" in body["response_format"]["json_schema"]["schema"]["properties"]


def test_writer_mentions_chain_history_and_reports_ineligible(server, png):
    server.script("writer", ["ineligible"])
    history = (Turn(edit_type_id=1, instruction="make it warmer"),)
    result = run(backend("writer", server).write(InstructionRequest(image=png, edit_type_id=3, history=history)))
    assert not result.eligible and "no suitable subject" in result.reason and result.instruction is None
    assert "make it warmer" in json.dumps(server.requests[-1]["body"]["messages"])


def test_the_fake_rejects_guided_json_so_the_shape_checks_can_fail():
    with FakeVllmServer() as fake:
        writer = create_backend("writer", "vllm", {"base_url": fake.url, "extra_body": {"guided_json": {}}})
        with pytest.raises(Permanent, match="guided_json"):
            run(writer.write(InstructionRequest(image=make_png(), edit_type_id=1)))
        assert fake.violations and "guided_json" in fake.violations[0]


@pytest.mark.parametrize("entry, error, match", [
    ("429", RateLimited, "HTTP 429"),
    ("503", Transient, "HTTP 503"),
    ("500", Transient, "HTTP 500"),
    ("400", Permanent, "HTTP 400"),
    ("malformed", Transient, "invalid JSON reply"),
    ("truncated", Transient, "cut off by max_tokens"),
])
def test_writer_failures_are_typed_for_the_runner(server, png, entry, error, match):
    server.retry_after = "2"
    server.script("writer", [entry])
    with pytest.raises(error, match=match) as info:
        run(backend("writer", server).write(InstructionRequest(image=png, edit_type_id=1)))
    if entry == "429":
        assert info.value.retry_after == 2.0


def test_a_slow_service_is_a_transient_timeout(server, png):
    server.script("rewriter", ["slow"])
    with pytest.raises(Transient, match="timed out"):
        run(backend("rewriter", server, timeout_s=0.3).rewrite(RewriteRequest(instruction="x y z", edit_type_id=1)))


def test_a_dead_service_is_transient_and_an_unknown_model_permanent(server):
    with FakeVllmServer() as dead:
        url = dead.url
    with pytest.raises(Transient, match="connection failed"):
        run(create_backend("rewriter", "vllm", {"base_url": url}).rewrite(RewriteRequest(instruction="a", edit_type_id=1)))
    with pytest.raises(Permanent, match="404"):
        run(backend("rewriter", server, model="nope").rewrite(RewriteRequest(instruction="a", edit_type_id=1)))


def test_unknown_options_are_a_config_error():
    with pytest.raises(ConfigError, match="rejected its options"):
        create_backend("judge", "vllm", {"base_url": "http://x/v1", "colour": "blue"})


# -- rewriter, judge ------------------------------------------------------------------------------------------


def test_rewriter_sends_text_only_and_returns_a_short_instruction(server):
    long = "Shift the overall colour balance of the sunset photo towards warm orange while keeping the sky gradient"
    result = run(backend("rewriter", server, model="rewriter").rewrite(RewriteRequest(instruction=long, edit_type_id=1)))
    assert result.short_instruction == " ".join(long.split()[:10]) and result.model == "rewriter"
    assert server.requests[-1]["n_images"] == 0 and "guided_json" not in server.requests[-1]["body"]


def test_judge_sends_edited_then_original_and_returns_scores(server):
    edited, original = make_png(colour=(10, 10, 200)), make_png(colour=(200, 10, 10))
    server.script("judge", [[0.9, 0.8, 0.7, 0.6]])
    result = run(backend("judge", server).judge(JudgeRequest(original=original, edited=edited, instruction="make it blue",
                                                              edit_type_id=1)))
    assert (result.compliance, result.seamlessness, result.preservation, result.quality) == (0.9, 0.8, 0.7, 0.6)
    assert result.overall == pytest.approx(0.75) and result.prompt_version == PROMPT_VERSION
    parts = server.requests[-1]["body"]["messages"][0]["content"]
    first, second = (_data_url_image(p["image_url"]["url"]).convert("RGB") for p in parts if p["type"] == "image_url")
    assert first.getpixel((0, 0)) == (10, 10, 200) and second.getpixel((0, 0)) == (200, 10, 10)
    assert "make it blue" in parts[-1]["text"]


def test_judge_rejects_out_of_range_scores_as_invalid_json(server, png):
    server.script("judge", [[1.5, 0.5, 0.5, 0.5]])
    with pytest.raises(Transient, match="invalid JSON reply"):
        run(backend("judge", server).judge(JudgeRequest(original=png, edited=png, instruction="x", edit_type_id=1)))


def test_an_unreadable_image_is_permanent_for_vision_roles(server):
    with pytest.raises(Permanent, match="not a readable image"):
        run(backend("judge", server).judge(JudgeRequest(original=b"junk", edited=b"junk", instruction="x", edit_type_id=1)))


# -- editor (vllm-omni /v1/images/edits) --------------------------------------------------------------------


def test_editor_posts_multipart_image_and_returns_a_really_edited_image(server, png):
    editor = backend("editor", server, num_inference_steps=4)
    one = run(editor.edit(EditRequest(image=png, instruction="make it warm", edit_type_id=1, seed=1)))
    two = run(editor.edit(EditRequest(image=png, instruction="make it warm", edit_type_id=1, seed=2)))
    assert one.status == "ok" and one.usage.images_out == 1 and one.model == "editor"
    assert one.image != png and one.image != two.image
    assert Image.open(io.BytesIO(one.image)).size == (64, 48)
    request = server.requests[-1]
    assert request["files"][0][:2] == ("src.png", "image/png")
    fields = request["fields"]
    assert fields["prompt"] == ["make it warm"] and fields["response_format"] == ["b64_json"]
    assert fields["seed"] == ["2"] and fields["num_inference_steps"] == ["4"] and fields["model"] == ["editor"]


@pytest.mark.parametrize("entry, status", [("empty", "no_image"), ("blocked", "blocked")])
def test_editor_typed_failures(server, png, entry, status):
    server.script("editor", [entry])
    result = run(backend("editor", server).edit(EditRequest(image=png, instruction="x", edit_type_id=1)))
    assert result.status == status and result.image is None and result.reason


@pytest.mark.parametrize("entry, error", [("429", RateLimited), ("503", Transient), ("400", Permanent)])
def test_editor_http_errors_raise_typed_errors(server, png, entry, error):
    server.script("editor", [entry])
    with pytest.raises(error):
        run(backend("editor", server).edit(EditRequest(image=png, instruction="x", edit_type_id=1)))


def test_editor_invalid_input_is_not_sent(server):
    result = run(backend("editor", server).edit(EditRequest(image=b"not an image", instruction="x", edit_type_id=1)))
    assert result.status == "invalid_input" and len(server.requests) == 0


# -- check ---------------------------------------------------------------------------------------------------


def test_check_lists_served_models(server):
    assert run(backend("judge", server).check())["ok"] is True
    missing = run(backend("editor", server, model="qwen-image-edit").check())
    assert missing["ok"] is False and "not served" in missing["detail"] and "editor" in missing["served"]
