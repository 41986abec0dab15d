"""A loopback fake of `vllm serve` + vllm-omni speaking the real OpenAI-compatible HTTP wire, for tests and benches.

    with FakeVllmServer() as server:            # 127.0.0.1, ephemeral port
        server.url                              # "http://127.0.0.1:PORT/v1"
        server.script("judge", [0.2, "429", 0.9])

Endpoints: GET /v1/models, POST /v1/chat/completions, POST /v1/images/edits (multipart, `image[]` or `image`).
It CHECKS what clients send and answers 400 (and records the problem in `violations`) when:
  - a chat request carries `guided_json` or any removed `guided_*` field (vLLM would silently ignore it);
  - a chat request has neither `structured_outputs.json` nor a `response_format` json_schema;
  - an image part is not a decodable `data:image/...;base64,` URL, or is larger than `max_image_side`;
  - the writer does not send 1 image, the judge not 2, the rewriter any;
  - an edit request has no image file, no prompt, or asks for anything but `response_format=b64_json`.
The role of a chat request is read from its JSON schema (the judge's has "compliance", the rewriter's
"short_instruction", the writer's "eligible"), so scripts are per role even when one VLM serves two roles.

Script entries (consumed one per request of that role, in arrival order; then every request succeeds):
    "ok"  "429" (with Retry-After: retry_after)  "503"  "500"  "400"  "slow" (sleeps slow_s, then ok)
    chat: "malformed" (content is not JSON)  "truncated" (cut JSON, finish_reason "length")
    writer: "ineligible"      judge: a float s (all four scores) or a list of four floats
    editor: "empty" (200 with no data)  "blocked" (400 content policy)
The editor really transforms the input image with PIL (seed- and prompt-dependent), so outputs differ.
The server is bounded: bodies over max_body bytes get 413, at most max_concurrency requests are handled at
once, and only the last `keep_requests` requests are kept for inspection.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import io
import json
import threading
import time
from email import policy as email_policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from PIL import Image, ImageEnhance, ImageOps

REMOVED_FIELDS = ("guided_json", "guided_regex", "guided_choice", "guided_grammar", "guided_decoding_backend",
                  "guided_whitespace_pattern")
IMAGES_PER_ROLE = {"writer": 1, "judge": 2, "rewriter": 0}


class WireError(Exception):
    def __init__(self, status: int, message: str, kind: str = "BadRequestError", headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.kind, self.headers = status, message, kind, headers or {}


def _decode_image(data: bytes) -> Image.Image:
    try:
        with Image.open(io.BytesIO(data)) as opened:
            return opened.convert("RGB")
    except Exception as exc:
        raise WireError(400, f"fake: not a decodable image ({exc})") from exc


def transform(image: bytes, prompt: str, seed: int) -> bytes:
    """A real, visible edit that depends on the prompt and the seed (so retries give different images)."""
    img = _decode_image(image)
    salt = int.from_bytes(hashlib.sha256(f"{prompt}|{seed}".encode()).digest()[:4], "big")
    img = ImageEnhance.Brightness(img).enhance(0.6 + (salt % 7) / 10)
    r, g, b = img.split()
    img = Image.merge("RGB", (b, r, g)) if salt % 2 else ImageOps.posterize(img, 3 + salt % 4)
    out = io.BytesIO()
    img.save(out, format="PNG", compress_level=1)
    return out.getvalue()


class FakeVllmServer:
    def __init__(self, models: tuple[str, ...] = ("judge", "rewriter", "editor"), latency_s: float = 0.0,
                 slow_s: float = 5.0, retry_after: str = "0", max_image_side: int = 1024, default_score: float = 0.9,
                 max_body: int = 64 << 20, max_concurrency: int = 256, keep_requests: int = 1000):
        self.models = list(models)
        self.latency_s, self.slow_s, self.retry_after = latency_s, slow_s, retry_after
        self.max_image_side, self.default_score, self.max_body = max_image_side, default_score, max_body
        self.requests: collections.deque[dict] = collections.deque(maxlen=keep_requests)
        self.violations: list[str] = []
        self.counts: collections.Counter = collections.Counter()  # (role, outcome) → n
        self.connections = 0  # TCP connections accepted (a client with keep-alive reuses them)
        self._scripts: dict[str, collections.deque] = collections.defaultdict(collections.deque)
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> FakeVllmServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-vllm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting ------------------------------------------------------------------------------------------

    def script(self, role: str, entries: list[Any]) -> None:
        with self._lock:
            self._scripts[role].extend(entries)

    def _next(self, role: str) -> Any:
        with self._lock:
            queue = self._scripts.get(role)
            return queue.popleft() if queue else "ok"

    def _record(self, entry: dict) -> None:
        with self._lock:
            self.requests.append(entry)

    def _violation(self, message: str) -> WireError:
        with self._lock:
            self.violations.append(message)
        return WireError(400, message)

    def _common_failures(self, role: str, entry: Any) -> None:
        """The failures every endpoint can inject; "slow" sleeps here and then answers normally."""
        with self._lock:
            self.counts[(role, entry if isinstance(entry, str) else "ok")] += 1
        if entry == "429":
            raise WireError(429, "fake: rate limited", "RateLimitError", {"Retry-After": self.retry_after})
        if entry in ("500", "503"):
            raise WireError(int(entry), "fake: service unavailable", "ServiceUnavailableError")
        if entry == "400":
            raise WireError(400, "fake: bad request (scripted)")
        if entry == "slow":
            time.sleep(self.slow_s)

    # -- endpoints ------------------------------------------------------------------------------------------

    def models_reply(self) -> dict:
        return {"object": "list", "data": [{"id": m, "object": "model", "created": 0, "owned_by": "vllm", "root": m,
                                            "max_model_len": 16384} for m in self.models]}

    def chat(self, body: dict) -> dict:
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            raise self._violation("fake: chat body needs a messages list")
        present = [f for f in REMOVED_FIELDS if f in body]
        if present:
            raise self._violation(f"fake: removed field(s) {present} sent; vLLM silently ignores them")
        schema = None
        if isinstance(body.get("structured_outputs"), dict):
            schema = body["structured_outputs"].get("json")
        elif isinstance(body.get("response_format"), dict) and body["response_format"].get("type") == "json_schema":
            schema = body["response_format"].get("json_schema", {}).get("schema")
        if not isinstance(schema, dict):
            raise self._violation("fake: no structured_outputs.json / response_format json_schema in a JSON role")
        if body.get("model") not in self.models:
            raise WireError(404, f"The model `{body.get('model')}` does not exist.", "NotFoundError")
        props = schema.get("properties", {})
        role = "judge" if "compliance" in props else "rewriter" if "short_instruction" in props else "writer"
        texts, images = [], []
        for message in body["messages"]:
            content = message.get("content")
            parts = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
            for part in parts:
                if part.get("type") == "text":
                    texts.append(part.get("text", ""))
                elif part.get("type") == "image_url":
                    url = (part.get("image_url") or {}).get("url", "")
                    if not url.startswith("data:image/") or ";base64," not in url:
                        raise self._violation(f"fake: image part is not a data URL ({url[:40]!r})")
                    img = _decode_image(base64.b64decode(url.split(",", 1)[1]))
                    if max(img.size) > self.max_image_side:
                        raise self._violation(f"fake: image {img.size} exceeds {self.max_image_side} px")
                    images.append(img)
                else:
                    raise self._violation(f"fake: unknown content part {part.get('type')!r}")
        if len(images) != IMAGES_PER_ROLE[role]:
            raise self._violation(f"fake: {role} sent {len(images)} images, expected {IMAGES_PER_ROLE[role]}")
        self._record({"path": "/v1/chat/completions", "role": role, "body": body, "n_images": len(images)})
        entry = self._next(role)
        self._common_failures(role, entry)
        text = "\n".join(texts)
        finish = "stop"
        if entry == "malformed":
            content = "Sure! Here is the JSON you asked for: {compliance: high"
        elif entry == "truncated":
            content, finish = json.dumps(self._reply(role, "ok", text, images))[:25], "length"
        else:
            content = json.dumps(self._reply(role, entry, text, images))
        return {"id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion", "created": 0,
                "model": body["model"], "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                                     "finish_reason": finish}],
                "usage": {"prompt_tokens": len(text) // 4 + 256 * len(images), "completion_tokens": len(content) // 4,
                          "total_tokens": len(text) // 4 + 256 * len(images) + len(content) // 4}}

    def _reply(self, role: str, entry: Any, text: str, images: list[Image.Image]) -> dict:
        if role == "judge":
            if isinstance(entry, (int, float)):
                scores = [float(entry)] * 4
            elif isinstance(entry, (list, tuple)):
                scores = [float(s) for s in entry]
            else:
                scores = [self.default_score] * 4
            keys = ("compliance", "seamlessness", "preservation", "quality")
            return dict(zip(keys, scores), overall=sum(scores) / 4, rationale=f"fake judge: {scores}")
        if role == "rewriter":
            detailed = next((ln.split(":", 1)[1] for ln in text.splitlines() if ln.startswith("Detailed instruction:")),
                            text)
            return {"short_instruction": " ".join(detailed.split()[:10]) or "edit the image"}
        if entry == "ineligible":
            return {"eligible": False, "reason": "fake: no suitable subject in the image", "instruction": None}
        edit_type = next((ln.split(":", 1)[1].split(" (")[0].strip() for ln in text.splitlines()
                          if ln.startswith("Edit type:")), "edit")
        mean = images[0].resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
        with self._lock:
            n = self.counts[("writer", "ok")]
        return {"eligible": True, "reason": None,
                "instruction": f"{edit_type} — applied to the whole photo (mean colour {mean}), sample {n}"}

    def edit(self, fields: dict[str, list], files: dict[str, list[tuple[str, str, bytes]]]) -> dict:
        images = files.get("image[]", []) + files.get("image", [])
        if not images:
            raise self._violation("fake: edit request has no `image[]`/`image` file")
        prompt = (fields.get("prompt") or [""])[0]
        if not prompt.strip():
            raise self._violation("fake: edit request has no prompt")
        if (fields.get("response_format") or ["b64_json"])[0] != "b64_json":
            raise self._violation("fake: only response_format=b64_json is served")
        model = (fields.get("model") or [""])[0]
        if model not in self.models:
            raise WireError(404, f"The model `{model}` does not exist.", "NotFoundError")
        self._record({"path": "/v1/images/edits", "role": "editor", "fields": fields,
                      "files": [(name, ctype, len(data)) for name, ctype, data in images]})
        entry = self._next("editor")
        self._common_failures("editor", entry)
        if entry == "blocked":
            raise WireError(400, "fake: request rejected by the content policy (safety checker)")
        if entry == "empty":
            return {"created": 0, "data": []}
        seed = int((fields.get("seed") or ["0"])[0])
        out = transform(images[0][2], prompt, seed)
        return {"created": 0, "data": [{"b64_json": base64.b64encode(out).decode("ascii")}]}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024  # the default listen backlog (5) drops bursts of connects: 1 s SYN retries
    fake: FakeVllmServer

    def process_request(self, request, client_address) -> None:
        with self.fake._lock:
            self.fake.connections += 1
        super().process_request(request, client_address)

    def handle_error(self, request, client_address) -> None:  # a client that timed out and hung up: not news
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, exc: WireError) -> None:
        self._send(exc.status, {"error": {"message": exc.message, "type": exc.kind, "code": exc.status}}, exc.headers)

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            self._send(200, self.server.fake.models_reply())
        else:
            self._error(WireError(404, f"fake: no route {self.path}", "NotFoundError"))

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        if length > fake.max_body:
            self.close_connection = True
            self._error(WireError(413, f"fake: body of {length} bytes exceeds {fake.max_body}"))
            return
        body = self.rfile.read(length)
        with fake._slots:
            if fake.latency_s:
                time.sleep(fake.latency_s)
            try:
                if self.path == "/v1/chat/completions":
                    try:
                        parsed = json.loads(body)
                    except ValueError as exc:
                        raise fake._violation(f"fake: chat body is not JSON ({exc})") from exc
                    self._send(200, fake.chat(parsed))
                elif self.path == "/v1/images/edits":
                    self._send(200, fake.edit(*self._multipart(body)))
                else:
                    raise WireError(404, f"fake: no route {self.path}", "NotFoundError")
            except WireError as exc:
                self._error(exc)
            except Exception as exc:  # noqa: BLE001 — a bug in the fake must fail the test, not pass as a transient 500
                fake.violations.append(f"fake: internal error {type(exc).__name__}: {exc}")
                self._error(WireError(500, f"fake: internal error {exc}", "InternalServerError"))

    def _multipart(self, body: bytes) -> tuple[dict, dict]:
        ctype = self.headers.get("Content-Type", "")
        if not ctype.startswith("multipart/form-data"):
            raise self.server.fake._violation(f"fake: /v1/images/edits needs multipart/form-data, got {ctype!r}")
        message = BytesParser(policy=email_policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + body)
        fields: dict[str, list] = collections.defaultdict(list)
        files: dict[str, list] = collections.defaultdict(list)
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename() is not None:
                files[name].append((part.get_filename(), part.get_content_type(), payload))
            else:
                fields[name].append(payload.decode("utf-8"))
        return dict(fields), dict(files)
