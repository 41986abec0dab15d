"""Per-call overhead of the vLLM client under load (it capped the pipeline at ~73% of the ideal rate).

Each of these was a measured cost at 4 roles × 64 calls in flight against the fake (bench_backends.py):
  - a new TCP connection per call (connect, happy-eyeballs task, close: several passes of a busy event loop);
  - a worker-thread round trip per image (encode_within via asyncio.to_thread, 4 per attempt) even when
    nothing needs re-encoding: 50-90 ms each under load for ~0.1 ms of work.
The checks are structural (connections accepted, executor jobs), not timed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import sys
import warnings

from backends.vllm.vllm_helpers import make_png

from picobanana.backends.base import EditRequest, InstructionRequest, JudgeRequest, RewriteRequest
from picobanana.backends.vllm.roles import VllmEditor, VllmJudge, VllmRewriter, VllmWriter

IN_FLIGHT = 16


def _rounds(url: str, n_rounds: int) -> None:
    """n_rounds × IN_FLIGHT concurrent rewriter calls in one `asyncio.run`; nothing of the client outlives it."""
    rewriter = VllmRewriter(base_url=url, model="rewriter")

    async def rounds():
        for r in range(n_rounds):
            await asyncio.gather(*(rewriter.rewrite(RewriteRequest(instruction=f"make round {r} warm {i}",
                                                                   edit_type_id=1)) for i in range(IN_FLIGHT)))

    asyncio.run(rounds())


def test_calls_reuse_connections(server):
    _rounds(server.url, 3)
    assert server.counts[("rewriter", "ok")] == 3 * IN_FLIGHT
    assert server.connections <= IN_FLIGHT, f"{server.connections} connections for {3 * IN_FLIGHT} calls"


def test_kept_alive_connections_close_with_their_loop(server, monkeypatch):
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)  # the project's pytest config ignores them
        _rounds(server.url, 1)
        gc.collect()
    # closed when their loop shuts down, not by the garbage collector on a dead loop
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
    assert [repr(u.exc_value) for u in unraisable] == []


class CountingExecutor(concurrent.futures.ThreadPoolExecutor):
    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.jobs = 0

    def submit(self, fn, /, *args, **kwargs):
        self.jobs += 1
        return super().submit(fn, *args, **kwargs)


def _run_counting_threads(coro_fn) -> int:
    """Executor jobs of the second of two runs in one loop (the first builds the clients: the SDK reads the
    platform in a thread once per client)."""
    async def main():
        executor = CountingExecutor()
        asyncio.get_running_loop().set_default_executor(executor)
        await coro_fn()
        before = executor.jobs
        await coro_fn()
        return executor.jobs - before

    return asyncio.run(main())


def test_images_within_bounds_go_without_a_thread(server):
    png = make_png()  # 64 × 48
    writer = VllmWriter(base_url=server.url, model="judge")
    judge = VllmJudge(base_url=server.url, model="judge")
    editor = VllmEditor(base_url=server.url, model="editor")

    async def one_of_each():
        written = await writer.write(InstructionRequest(image=png, edit_type_id=1))
        edited = await editor.edit(EditRequest(image=png, instruction=written.instruction, edit_type_id=1, seed=3))
        await judge.judge(JudgeRequest(original=png, edited=edited.image, instruction=written.instruction,
                                       edit_type_id=1))

    assert _run_counting_threads(one_of_each) == 0

    small = VllmWriter(base_url=server.url, model="judge", max_image_side=32)  # must downscale: a real re-encode

    async def downscaled():
        await small.write(InstructionRequest(image=png, edit_type_id=1))

    assert _run_counting_threads(downscaled) >= 1
