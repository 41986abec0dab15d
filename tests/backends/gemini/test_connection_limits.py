"""The Gemini client's connection pool never caps the pipeline's concurrency: httpx's default pool (100
connections) would hold the 101st concurrent call back until another finished."""

from __future__ import annotations

import asyncio
import threading

from picobanana.backends.base import RewriteRequest
from picobanana.backends.gemini.fake_server import FakeGemini
from picobanana.backends.registry import create_backend

IN_FLIGHT = 101


class GatheringFake(FakeGemini):
    """Answers only once IN_FLIGHT requests are being handled at the same time."""

    def __init__(self) -> None:
        super().__init__()
        self.barrier = threading.Barrier(IN_FLIGHT, timeout=60)

    def handle(self, method, path, headers, raw):
        if method == "POST":
            self.barrier.wait()  # BrokenBarrierError → 500 for everyone when fewer ever arrive at once
        return super().handle(method, path, headers, raw)


def test_more_than_100_calls_are_in_flight_at_once(api_key):
    with GatheringFake() as fake:
        rewriter = create_backend("rewriter", "gemini", {"base_url": fake.url, "timeout_s": 90})

        async def burst():
            return await asyncio.gather(*(rewriter.rewrite(RewriteRequest(instruction=f"make it warm {i}",
                                                                          edit_type_id=1)) for i in range(IN_FLIGHT)))

        results = asyncio.run(burst())
    assert len(results) == IN_FLIGHT and all(r.short_instruction for r in results)
