"""The Gemini fake stays bounded over long runs (benchmarks push 10,000+ attempts through it) and accepts
bursts of connections: its request log and its memory of edited images are capped, its listen backlog is large."""

from __future__ import annotations

import base64
import io

from PIL import Image

from picobanana.backends.gemini import fake_server
from picobanana.backends.gemini.fake_server import FakeGemini

HEADERS = {"x-goog-api-key": "test"}
JSON = {"responseMimeType": "application/json", "responseJsonSchema": {"type": "object"}}
PATH = "/v1/models/m:generateContent"


def _png(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (shade, 40, 90)).save(out, format="PNG")
    return out.getvalue()


def _image(data: bytes) -> dict:
    return {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(data).decode()}}


def _edit(fake: FakeGemini, source: bytes) -> bytes:
    code, body = fake.handle("POST", PATH, HEADERS, _body([_image(source), {"text": "edit"}], responseModalities=["IMAGE"]))
    assert code == 200, body
    return base64.b64decode(body["candidates"][0]["content"]["parts"][1]["inlineData"]["data"])


def _body(parts: list, **config) -> bytes:
    import json

    return json.dumps({"contents": [{"role": "user", "parts": parts}], "generationConfig": config}).encode()


def test_the_request_log_keeps_only_the_latest_requests():
    with FakeGemini() as fake:
        for i in range(fake_server.KEEP_REQUESTS + 5):
            code, _ = fake.handle("POST", f"/v1/models/m{i}:generateContent", HEADERS,
                                  _body([{"text": "Instruction: x"}], **JSON))
            assert code == 200
        assert len(fake.requests) == fake_server.KEEP_REQUESTS
        assert fake.requests[-1]["model"] == f"m{fake_server.KEEP_REQUESTS + 4}" and fake.requests[0]["model"] == "m5"


def test_edited_images_are_remembered_up_to_a_bound_and_the_newest_still_pass_the_judge_check(monkeypatch):
    monkeypatch.setattr(fake_server, "KEEP_PRODUCED", 2)
    with FakeGemini() as fake:
        sources = [_png(shade) for shade in (10, 120, 240)]
        outputs = [_edit(fake, source) for source in sources]

        def judge(i: int) -> int:
            parts = [_image(outputs[i]), _image(sources[i]), {"text": "judge"}]
            return fake.handle("POST", PATH, HEADERS, _body(parts, **JSON))[0]

        assert judge(2) == 200 and judge(1) == 200
        assert judge(0) == 400  # the oldest edit was forgotten


def test_the_listen_backlog_takes_a_burst_of_connections():
    with FakeGemini() as fake:
        assert fake._server.request_queue_size >= 1024  # the default 5 drops a burst of 64 connects (1 s retries)
