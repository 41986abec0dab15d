"""A wire-level fake of the Gemini Developer API: a loopback HTTP server speaking the REST shapes of
shared/reference/backends.md §2.1, for tests, benchmarks and demos. The real SDK talks to it through
`base_url`; nothing of ours is mocked.

It CHECKS what it receives (a violation answers 400 INVALID_ARGUMENT and is listed in `violations`):
image parts are inlineData with an image mime type and decodable bytes, the editor asks for IMAGE in
responseModalities, JSON roles send responseJsonSchema/responseSchema, and the judge sends the edited image
(one this fake produced) FIRST, then the original it was edited from.

The role of a request is recognised from its shape: IMAGE modality → editor; two images → judge; one image →
writer; no image → rewriter. Failures are injected per role with `script(role, *entries)`, consumed in order:

    "ok"  "rate_limited" (429 + RetryInfo)  "overloaded" (503)  "bad_request" (400)  "slow" (sleeps slow_s)
    "prompt_blocked"  "image_safety"  "no_image"  "text_only"  "truncated" (JSON cut, MAX_TOKENS)
    "malformed" (non-JSON text after STOP)   editor: "garbage_image" (undecodable inlineData)   writer: "ineligible"   judge: a float or a list of 4 floats

Batch mode: POST …:batchGenerateContent answers every inline request at once (same checks, same scripts);
GET /v1/models/<m> describes the model (version "fake-001") unless listed in `unknown_models`;
GET /v1/batches/<id> says RUNNING `batch_pending_polls` times (the smaller of its value when the batch was
created and its value now: lowering it releases held batches), then SUCCEEDED with the inlined responses —
or, per batch, as scripted by `script_batches(*entries)` (default `batch_output`): "inline", "file" (the
results as a JSONL file `files/<id>-results`, fetched via GET /download/v1/files/<id>:download?alt=media),
or the terminal failures "failed", "expired", "cancelled".

The editor really transforms the input (hue shift + a per-call brightness), so outputs differ.
Loopback only (127.0.0.1, ephemeral port) and bounded (request bodies ≤ max_body bytes).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re
import threading
import time
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from PIL import Image, ImageEnhance

_ROUTE = re.compile(r"^/(v1|v1beta|v1alpha)/models/([^:/]+):generateContent$")
_BATCH_CREATE = re.compile(r"^/(v1|v1beta|v1alpha)/models/([^:/]+):batchGenerateContent$")
_BATCH_GET = re.compile(r"^/(v1|v1beta|v1alpha)/(batches/[^/]+)$")
_MODEL_GET = re.compile(r"^/(v1|v1beta|v1alpha)/models/([^:/]+)$")
_FILE_DOWNLOAD = re.compile(r"^(?:/download)?/(v1|v1beta|v1alpha)/files/([^:/]+):download$")
_BATCH_ENDINGS = {"failed": "BATCH_STATE_FAILED", "expired": "BATCH_STATE_EXPIRED",
                  "cancelled": "BATCH_STATE_CANCELLED"}
_IMAGE_MIMES = {"image/png", "image/jpeg", "image/webp"}
_ROLES = ("writer", "rewriter", "editor", "judge")
KEEP_REQUESTS = 1000  # `requests` keeps the last 1,000 (as the vLLM fake does)
KEEP_PRODUCED = 10_000  # edited images remembered for the judge-order check (far more than are ever in flight)


class _Server(ThreadingHTTPServer):
    request_queue_size = 1024  # the default listen backlog (5) drops bursts of connects: 1 s SYN retries


class FakeGemini:
    def __init__(self, judge_scores: tuple[float, float, float, float] = (0.9, 0.9, 0.9, 0.9),
                 retry_delay: str = "0.05s", slow_s: float = 3.0, latency_s: float = 0.0,
                 max_body: int = 64 * 2**20, batch_pending_polls: int = 1):
        self.judge_scores = tuple(judge_scores)
        self.retry_delay = retry_delay
        self.slow_s = slow_s
        self.latency_s = latency_s
        self.max_body = max_body
        self.requests: list[dict] = []  # what each request asked for (never the key itself)
        self.violations: list[str] = []
        self.batches: dict[str, dict] = {}  # name → display name, polls, inline responses
        self.batch_pending_polls = batch_pending_polls  # GETs answered RUNNING before SUCCEEDED
        self.batch_output = "inline"  # how a batch without a scripted ending answers: "inline" | "file"
        self._batch_script: deque = deque()
        self._batch_seq = 0
        self.files: dict[str, bytes] = {}  # results files of "file" batches, by id
        self.unknown_models: set[str] = set()  # GET models/<m> answers 404 for these (backends check)
        self._scripts: dict[str, deque] = defaultdict(deque)
        self._produced: dict[str, str] = {}  # sha256 of each image the fake editor made → of its input
        self._lock = threading.Lock()
        self._count = 0
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-gemini", daemon=True)

    # -- lifecycle -------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeGemini:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def script(self, role: str, *entries: Any) -> None:
        if role not in _ROLES:
            raise ValueError(f"unknown role {role!r}")
        with self._lock:
            self._scripts[role].extend(entries)

    def script_batches(self, *entries: str) -> None:
        """How the next batches end, in creation order: inline | file | failed | expired | cancelled."""
        unknown = set(entries) - {"inline", "file", *_BATCH_ENDINGS}
        if unknown:
            raise ValueError(f"unknown batch endings {sorted(unknown)}")
        with self._lock:
            self._batch_script.extend(entries)

    def calls(self, role: str) -> list[dict]:
        return [r for r in self.requests if r["role"] == role]

    # -- one request -----------------------------------------------------------------------------------

    def _next(self, role: str) -> Any:
        with self._lock:
            self._count += 1
            return self._scripts[role].popleft() if self._scripts[role] else "ok"

    def handle(self, method: str, path: str, headers: Any, raw: bytes) -> tuple[int, dict | bytes]:
        path = path.split("?", 1)[0]
        if method == "GET":
            match = _BATCH_GET.match(path)
            if match:
                return self._batch_get(match.group(2))
            match = _FILE_DOWNLOAD.match(path)
            if match:
                data = self.files.get(match.group(2))
                return (200, data) if data is not None else (404, _error(404, "NOT_FOUND", f"no file {path}"))
            match = _MODEL_GET.match(path)
            if match and match.group(2) not in self.unknown_models:
                model = match.group(2)
                return 200, {"name": f"models/{model}", "version": "fake-001", "displayName": f"{model} (fake)"}
            return 404, _error(404, "NOT_FOUND", f"no route or model {path}")
        match = _ROUTE.match(path) or _BATCH_CREATE.match(path)
        if not match:
            return 404, _error(404, "NOT_FOUND", f"no route {path}")
        api_version, model = match.groups()
        try:
            body = json.loads(raw)
        except ValueError:
            return 400, _error(400, "INVALID_ARGUMENT", "body is not JSON")
        if path.endswith(":batchGenerateContent"):
            return self._batch_create(api_version, model, body, headers)
        return self._generate(api_version, model, body, headers)

    # -- Batch mode: every inline request is answered like an online one, at creation ---------------

    def _batch_create(self, api_version: str, model: str, body: dict, headers: Any) -> tuple[int, dict]:
        batch = body.get("batch") or {}
        items = (((batch.get("inputConfig") or {}).get("requests") or {}).get("requests")) or []
        if not items:
            return 400, _error(400, "INVALID_ARGUMENT", "batch without inline requests")
        responses = []
        for item in items:
            code, answer = self._generate(api_version, model, item.get("request") or {}, headers)
            entry: dict = {"metadata": item.get("metadata") or {}}
            if code == 200:
                entry["response"] = answer
            else:
                # a google.rpc.Status; the SDK's JobError types `details` as strings, so none are sent
                entry["error"] = {"code": answer["error"]["code"], "message": answer["error"]["message"]}
            responses.append(entry)
        with self._lock:
            self._batch_seq += 1  # not len(batches): a test may forget batches (the service lost them)
            name = f"batches/fake{self._batch_seq}"
            ending = self._batch_script.popleft() if self._batch_script else self.batch_output
            self.batches[name] = {"display_name": batch.get("displayName"), "polls": 0, "responses": responses,
                                  "pending": self.batch_pending_polls, "ending": ending}
        return 200, {"name": name, "metadata": {"name": name, "displayName": batch.get("displayName"),
                                                 "state": "BATCH_STATE_PENDING", "model": f"models/{model}"}}

    def _batch_get(self, name: str) -> tuple[int, dict]:
        with self._lock:
            batch = self.batches.get(name)
            if batch is None:
                return 404, _error(404, "NOT_FOUND", f"{name} not found")
            batch["polls"] += 1
            done = batch["polls"] > min(batch["pending"], self.batch_pending_polls)
        ending = batch["ending"]
        state = "BATCH_STATE_RUNNING" if not done else _BATCH_ENDINGS.get(ending, "BATCH_STATE_SUCCEEDED")
        metadata: dict = {"name": name, "displayName": batch["display_name"], "state": state}
        if done and ending == "inline":
            metadata["output"] = {"inlinedResponses": {"inlinedResponses": batch["responses"]}}
        elif done and ending == "file":
            file_id = f"{name.split('/', 1)[1]}-results"
            # The file form keys each line by "key" (the inline form keeps it in metadata).
            lines = [{"key": (r["metadata"] or {}).get("key"), **{k: v for k, v in r.items() if k != "metadata"}}
                     for r in batch["responses"]]
            self.files[file_id] = "".join(json.dumps(line) + "\n" for line in lines).encode()
            metadata["output"] = {"responsesFile": f"files/{file_id}"}
        elif done:
            metadata["error"] = {"code": 400, "message": f"fake batch {ending}"}
        return 200, {"name": name, "metadata": metadata}

    # -- generateContent ----------------------------------------------------------------------------

    def _generate(self, api_version: str, model: str, body: dict, headers: Any) -> tuple[int, dict]:
        images, texts, problems = _parts(body)
        gen = body.get("generationConfig") or {}
        modalities = gen.get("responseModalities") or []
        schema = gen.get("responseJsonSchema") or gen.get("responseSchema")
        role = "editor" if "IMAGE" in modalities else {2: "judge", 1: "writer", 0: "rewriter"}.get(len(images), "?")
        if role == "editor" and len(images) != 1:
            problems.append(f"editor request has {len(images)} images, expected 1")
        if role in ("writer", "rewriter", "judge"):
            if not schema:
                problems.append(f"{role} request without responseJsonSchema/responseSchema")
            if gen.get("responseMimeType") != "application/json":
                problems.append(f"{role} request without responseMimeType application/json")
        if role == "judge" and not problems:
            first, second = (hashlib.sha256(img).hexdigest() for img in images)
            if self._produced.get(first) != second:  # edited first, then the very image it was edited from
                problems.append("judge contents order: the edited image must come first, then the original")
        if role == "?":
            problems.append(f"cannot tell the role of a request with {len(images)} images")
        self.requests.append({"role": role, "model": model, "api_version": api_version, "n_images": len(images),
                              "modalities": modalities, "has_schema": bool(schema),
                              "service_tier": body.get("serviceTier") or gen.get("serviceTier"), "seed": gen.get("seed"),
                              "key_sent": bool(headers.get("x-goog-api-key"))})
        del self.requests[:-KEEP_REQUESTS]  # bounded: a 10,000-attempt bench must not grow the fake
        if not headers.get("x-goog-api-key"):
            problems.append("no x-goog-api-key header")
        if problems:
            self.violations.extend(problems)
            return 400, _error(400, "INVALID_ARGUMENT", "; ".join(problems))
        entry = self._next(role)
        if self.latency_s:
            time.sleep(self.latency_s)
        if entry == "slow":
            time.sleep(self.slow_s)
            entry = "ok"
        return self._answer(role, model, entry, images, texts)

    def _answer(self, role: str, model: str, entry: Any, images: list[bytes], texts: list[str]) -> tuple[int, dict]:
        if entry == "rate_limited":
            return 429, _error(429, "RESOURCE_EXHAUSTED", "Resource exhausted.", [
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": self.retry_delay}])
        if entry == "overloaded":
            return 503, _error(503, "UNAVAILABLE", "The model is overloaded.")
        if entry == "bad_request":
            return 400, _error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.")
        if entry == "prompt_blocked":
            return 200, {"promptFeedback": {"blockReason": "SAFETY"}, "modelVersion": _version(model)}
        if entry == "image_safety":
            return 200, {"candidates": [{"finishReason": "IMAGE_SAFETY"}], "modelVersion": _version(model)}
        if entry == "no_image":
            return 200, {"candidates": [{"finishReason": "NO_IMAGE"}], "modelVersion": _version(model)}
        if entry == "text_only":
            return 200, _text_body(model, "I can't edit this image.")
        if entry == "garbage_image":
            return 200, {"candidates": [{"content": {"role": "model", "parts": [{"inlineData": {
                "mimeType": "image/png", "data": base64.b64encode(b"not a png").decode()}}]},
                "finishReason": "STOP"}], "modelVersion": _version(model)}
        if entry == "malformed":
            return 200, _text_body(model, "Sure! Here is my answer: scores are good.")
        text = self._json_answer(role, entry, texts) if role != "editor" else None
        if entry == "truncated":
            return 200, _text_body(model, (text or '{"x": 1}')[: max(1, len(text or "") // 2)], "MAX_TOKENS")
        if role == "editor":
            out = _edit(images[0], self._count)
            self._produced[hashlib.sha256(out).hexdigest()] = hashlib.sha256(images[0]).hexdigest()
            with self._lock:  # bounded, oldest first (dicts keep insertion order)
                while len(self._produced) > KEEP_PRODUCED:
                    self._produced.pop(next(iter(self._produced)))
            return 200, {"candidates": [{"content": {"role": "model", "parts": [
                {"text": "Done."}, {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(out).decode()}}]},
                "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 300, "candidatesTokenCount": 1290,
                                                           "totalTokenCount": 1590}, "modelVersion": _version(model)}
        return 200, _text_body(model, text)

    def _json_answer(self, role: str, entry: Any, texts: list[str]) -> str:
        prompt = "\n".join(texts)
        if role == "writer":
            if entry == "ineligible":
                return json.dumps({"eligible": False, "reason": "fake: not applicable", "instruction": ""})
            kind = _line(prompt, "Edit type:") or "an edit"
            return json.dumps({"eligible": True, "reason": "",
                               "instruction": f"Apply '{kind}' to the main subject, variant {self._count}."})
        if role == "rewriter":
            words = (_line(prompt, "Instruction:") or "edit it").split()
            return json.dumps({"short_instruction": " ".join(words[:8])})
        scores = self.judge_scores
        if isinstance(entry, int | float):
            scores = (float(entry),) * 4
        elif isinstance(entry, list | tuple):
            scores = tuple(float(s) for s in entry)
        return json.dumps({"instruction_compliance": scores[0], "editing_realism": scores[1],
                           "preservation_balance": scores[2], "technical_quality": scores[3],
                           "reasoning": f"fake judge: {list(scores)}", "overall": sum(scores) / 4})

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length > fake.max_body:
                    self._send(413, _error(413, "INVALID_ARGUMENT", "request too large"))
                    return
                self._send(*fake.handle("POST", self.path, self.headers, self.rfile.read(length)))

            def do_GET(self) -> None:
                self._send(*fake.handle("GET", self.path, self.headers, b""))

            def _send(self, code: int, body: dict | bytes) -> None:
                raw = isinstance(body, bytes)  # a downloaded file, sent as is
                data = body if raw else json.dumps(body).encode()
                try:
                    self.send_response(code)
                    self.send_header("content-type", "application/octet-stream" if raw else "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    pass

            def log_message(self, *args: Any) -> None:  # quiet: tests capture logs
                pass

        return Handler


def _parts(body: dict) -> tuple[list[bytes], list[str], list[str]]:
    images: list[bytes] = []
    texts: list[str] = []
    problems: list[str] = []
    for content in body.get("contents") or []:
        for part in content.get("parts") or []:
            if "text" in part:
                texts.append(part["text"])
                continue
            inline = part.get("inlineData") or part.get("inline_data")
            if inline is None:
                problems.append(f"unexpected part {sorted(part)}")
                continue
            mime = inline.get("mimeType") or inline.get("mime_type")
            if mime not in _IMAGE_MIMES:
                problems.append(f"image part with mime type {mime!r}")
            try:
                # The SDK may send the URL-safe alphabet; the service accepts both.
                data = base64.b64decode((inline.get("data") or "").replace("-", "+").replace("_", "/"), validate=True)
                with Image.open(io.BytesIO(data)) as opened:
                    opened.verify()
            except (binascii.Error, ValueError, OSError):
                problems.append(f"image part ({mime}) is not a decodable image")
                continue
            images.append(data)
    return images, texts, problems


def _edit(data: bytes, n: int) -> bytes:
    with Image.open(io.BytesIO(data)) as opened:
        hsv = opened.convert("RGB").convert("HSV")
    h, s, v = hsv.split()
    h = h.point(lambda x: (x + 40 + 17 * (n % 9)) % 256)
    img = Image.merge("HSV", (h, s, v)).convert("RGB")
    img = ImageEnhance.Brightness(img).enhance(0.8 + (n % 5) / 10)
    out = io.BytesIO()
    img.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def _line(text: str, prefix: str) -> str | None:
    for line in text.splitlines():
        if line.startswith(prefix):
            return line[len(prefix):].strip()
    return None


def _version(model: str) -> str:
    return f"{model}-fake-001"


def _text_body(model: str, text: str, finish: str = "STOP") -> dict:
    return {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": finish}],
            "usageMetadata": {"promptTokenCount": 120, "candidatesTokenCount": 40, "thoughtsTokenCount": 10,
                              "totalTokenCount": 170}, "modelVersion": _version(model)}


def _error(code: int, status: str, message: str, details: list | None = None) -> dict:
    error: dict = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = details
    return {"error": error}
