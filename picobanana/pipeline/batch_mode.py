"""Batch mode for a whole job (`JobSpec.batch`): the editor and/or judge calls go out as Gemini batch jobs
(−50 %), round by round; the writer and rewriter stay online (short text calls).

One round = the next attempt of every unfinished item (chain turns are rounds too, turn by turn):
  1. writer + rewriter online; the attempt row is inserted 'running' with both instructions and their cost;
  2. the edit requests of the round go out in batches of ≤ `max_requests`; each batch name is committed
     (gemini_batches, 'submitted', with its request keys) as soon as the service accepts it;
  3. live batches are polled every `poll_s`; a finished batch is ingested in ONE transaction with its row
     turning 'ingested': images stored on their attempts (still 'running' until judged), editor failures
     (blocked, no_image, item errors) recorded exactly as online;
  4. the judge requests of the edited attempts go out and come back the same way → judgments, attempts 'ok';
  5. failed attempts are retried with a fresh instruction sample in the next round, up to `spec.attempts`.

Resume: each round re-derives its work from the database, so a restarted job polls the batches still
'submitted' (never resubmits them), judges attempts that have an image but no judgment, and redoes from the
writer an attempt left 'running' without a batch (killed before submission — the online rule).
A batch that ends FAILED / EXPIRED / CANCELLED, or that the service no longer knows, is NOT resubmitted: its
editor attempts fail as api_error with the reason (the next round retries them with a fresh sample, like
any failure); its judge attempts keep their image, unjudged ("not judged: …", verdict pending), as online.
Known window: a kill between the service accepting a batch and the commit of its name orphans that batch
(billed, never read); its attempts are redone — like the calls in flight of an online job.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from picobanana.backends.base import (
    EditRequest,
    EditResult,
    InstructionRequest,
    JudgeRequest,
    JudgeResult,
    RewriteRequest,
    Usage,
)
from picobanana.backends.gemini.batch import BATCH_DISCOUNT, DONE_WITH_OUTPUT, TERMINAL, GeminiBatch
from picobanana.errors import BackendError, ConfigError, ImageError, Permanent, RateLimited, Transient
from picobanana.pipeline import batch_records
from picobanana.pipeline.cost import call_cost
from picobanana.pipeline.keys import attempt_key, edit_key, seed_for
from picobanana.pipeline.runner import NOT_RETRIED, CallFailed, EditItem, Outcome
from picobanana.store.writes import NewJudgment, record_judgments, set_attempt_output

if TYPE_CHECKING:
    from picobanana.pipeline.runner import Runner

log = logging.getLogger(__name__)
_SLEEP_SLICE_S = 0.5  # a cancellation is seen this fast while waiting for a batch


@dataclass
class Work:
    """An attempt in this round that still needs the editor or the judge."""

    item: EditItem
    n: int
    attempt_id: int
    instruction: str
    hint: dict = field(default_factory=dict)
    sha256: str | None = None  # the edited image, once there is one

    @property
    def key(self) -> str:
        return attempt_key(self.item.key, self.n)


def _elapsed_ms(created_at: str | None) -> float | None:
    if not created_at:
        return None
    start = datetime.strptime(created_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return (datetime.now(UTC) - start).total_seconds() * 1000


class BatchJob:
    def __init__(self, runner: Runner):
        self.runner, self.store, self.spec = runner, runner.store, runner.spec
        self.settings = runner.spec.batch
        assert self.settings is not None
        self.batched = set(self.settings.roles)
        self.clients: dict[str, Any] = {}
        # Items carry no bytes (a job may have 10,000): each input image is read from the store when a
        # request is built, through the runner's small cache.
        self.input_sha: dict[str, str] = {}
        writers = self.spec.role("writer").concurrency + self.spec.role("rewriter").concurrency
        self.writing = asyncio.Semaphore(writers)  # bounds the coroutines holding an image before their call
        for role in self.batched:
            backend = getattr(runner.backends, role)
            if not hasattr(backend, "batch_request"):
                raise ConfigError(f"batch mode: the {role} backend {self.spec.role(role).backend!r} has no Batch "
                                  "mode (use gemini, or leave this role online)")
            self.clients[role] = GeminiBatch(backend)

    def item(self, key: str, sha256: str, **fields: Any) -> EditItem:
        self.input_sha[key] = sha256
        return EditItem(key=key, image=b"", **fields)

    def image(self, item: EditItem) -> bytes:
        return self.runner._image(self.input_sha[item.key])

    # -- costs -------------------------------------------------------------------------------------------

    def _cost(self, role: str, usage: Usage, batched: bool) -> float:
        if not batched:
            return self.runner._cost(role, usage)
        # A role's own price was already halved by GeminiBatch; the job's price table is halved here.
        return usage.cost_usd or call_cost(usage, self.spec.prices.get(self.spec.role(role).backend)) * BATCH_DISCOUNT

    def _attempt(self, attempt_id: int) -> Any:
        return self.store.conn.execute("SELECT id, status, output_sha256, cost_usd, created_at FROM attempts "
                                       "WHERE id = ?", (attempt_id,)).fetchone()

    # -- recording (each call runs inside the caller's transaction, or its own) ----------------------------

    def _record_edit(self, attempt_id: int, result: EditResult | BackendError | None, reason_if_none: str,
                     cost: float) -> str | None:
        """An editor answer → the attempt: failed (final) or its image stored ('running' until judged)."""
        with self.store.transaction() as rev:
            row = self._attempt(attempt_id)
            if row is None or row["status"] != "running" or row["output_sha256"]:
                return None  # already recorded (a re-ingest after a restart)
            total = (row["cost_usd"] or 0.0) + cost
            facts = {"latency_ms": _elapsed_ms(row["created_at"]), "cost_usd": total}
            if result is None or isinstance(result, BackendError):
                reason = reason_if_none if result is None else f"editor: {result}"
                set_attempt_output(self.store, attempt_id, status="api_error", rev=rev, failure_reason=reason, **facts)
                return None
            out = {"model": result.model, "model_version": result.model_version}
            if result.status != "ok" or not result.image:
                status = result.status if result.status != "ok" else "no_image"
                set_attempt_output(self.store, attempt_id, status=status, rev=rev,
                                   failure_reason=result.reason or status, **out, **facts)
                return None
            try:
                sha = self.store.images.put_bytes(result.image).sha256
            except ImageError as exc:
                set_attempt_output(self.store, attempt_id, status="error", rev=rev,
                                   failure_reason=f"editor returned an unusable image: {exc}", **out, **facts)
                return None
            set_attempt_output(self.store, attempt_id, status="running", rev=rev, output_sha256=sha, **out, **facts)
            return sha

    def _record_judgment(self, attempt_id: int, edit_type_id: int, result: JudgeResult | BackendError | str,
                         cost: float) -> None:
        with self.store.transaction() as rev:
            row = self._attempt(attempt_id)
            if row is None or row["status"] != "running" or not row["output_sha256"]:
                return
            facts = {"latency_ms": _elapsed_ms(row["created_at"]), "cost_usd": (row["cost_usd"] or 0.0) + cost,
                     "output_sha256": row["output_sha256"]}
            if not isinstance(result, JudgeResult):
                # The image exists: keep it, unjudged (verdict 'pending'), as an online job does.
                reason = result if isinstance(result, str) else f"judge: {result}"
                set_attempt_output(self.store, attempt_id, status="ok", rev=rev, failure_reason=f"not judged: {reason}",
                                   **facts)
                return
            scores = (result.compliance, result.seamlessness, result.preservation, result.quality)
            kept = self.runner._keeps(scores, edit_type_id)
            set_attempt_output(self.store, attempt_id, status="ok", rev=rev,
                               failure_reason=None if kept else "judged below the policy threshold", **facts)
            record_judgments(self.store, [NewJudgment(
                attempt_id=attempt_id, compliance=scores[0], seamlessness=scores[1], preservation=scores[2],
                quality=scores[3], judge_overall=result.overall, rationale=result.rationale,
                judge_backend=self.spec.role("judge").backend, judge_model=result.model,
                judge_model_version=result.model_version, prompt_version=result.prompt_version)], rev)

    def _fail(self, role: str, work: Work, reason: str, status: str = "api_error") -> None:
        if role == "judge":
            self._record_judgment(work.attempt_id, work.item.edit_type_id, reason, 0.0)
            return
        with self.store.transaction() as rev:
            row = self._attempt(work.attempt_id)
            if row is not None and row["status"] == "running":
                set_attempt_output(self.store, work.attempt_id, status=status, rev=rev, failure_reason=reason,
                                   latency_ms=_elapsed_ms(row["created_at"]))

    # -- one round -----------------------------------------------------------------------------------------

    async def _write(self, item: EditItem, n: int, first: bool) -> Work | None:
        async with self.writing:
            return await self._write_one(item, n, first)

    async def _write_one(self, item: EditItem, n: int, first: bool) -> Work | None:
        """Writer + rewriter online, then the attempt row 'running' (or its failure, or the item's skip)."""
        runner, b = self.runner, self.runner.backends
        seed = seed_for(self.spec.seed, item.key, n)
        try:
            written = await runner.call("writer", b.writer.write, InstructionRequest(
                image=self.image(item), edit_type_id=item.edit_type_id, seed=seed, history=item.history))
        except CallFailed as exc:
            runner._start_attempt(item, n, status=exc.status, failure_reason=exc.reason)
            return None
        cost = runner._cost("writer", written.usage)
        if not written.eligible or not written.instruction:
            reason = written.reason or "the writer gave no instruction"
            if first and n == 1:
                runner._record_skip(item, reason)
            else:
                runner._start_attempt(item, n, status="invalid_input", failure_reason=f"not eligible: {reason}")
            return None
        common = {"instruction": written.instruction, "prompt_version": written.prompt_version}
        try:
            short = await runner.call("rewriter", b.rewriter.rewrite, RewriteRequest(
                instruction=written.instruction, edit_type_id=item.edit_type_id, seed=seed))
        except CallFailed as exc:
            runner._start_attempt(item, n, status=exc.status, failure_reason=exc.reason, cost_usd=cost, **common)
            return None
        cost += runner._cost("rewriter", short.usage)
        attempt_id = runner._start_attempt(item, n, short_instruction=short.short_instruction, cost_usd=cost, **common)
        return Work(item, n, attempt_id, written.instruction, dict(written.hint))

    def _edit_request(self, work: Work) -> EditRequest:
        return EditRequest(image=self.image(work.item), instruction=work.instruction, edit_type_id=work.item.edit_type_id,
                           hint=work.hint, seed=seed_for(self.spec.seed, work.item.key, work.n))

    def _judge_request(self, work: Work) -> JudgeRequest:
        return JudgeRequest(original=self.image(work.item), edited=self.runner._image(work.sha256 or ""),
                            instruction=work.instruction, edit_type_id=work.item.edit_type_id, hint=work.hint)

    async def _online(self, role: str, work: Work) -> None:
        backend = getattr(self.runner.backends, role)
        if role == "editor":
            try:
                result = await self.runner.call("editor", backend.edit, self._edit_request(work))
            except CallFailed as exc:
                self._fail("editor", work, exc.reason, exc.status)
                return
            self._record_edit(work.attempt_id, result, "", self._cost("editor", result.usage, False))
            return
        try:
            verdict = await self.runner.call("judge", backend.judge, self._judge_request(work))
        except CallFailed as exc:
            self._record_judgment(work.attempt_id, work.item.edit_type_id, exc.reason, 0.0)
            return
        cost = self._cost("judge", verdict.usage, False)
        self._record_judgment(work.attempt_id, work.item.edit_type_id, verdict, cost)

    async def _send(self, role: str, works: list[Work]) -> None:
        """Online calls, or batch jobs whose names are committed as soon as accepted. A batch holds at most
        `max_requests` requests and `max_inline_mb` of images (inline requests must stay < 20 MB in total,
        base64 included); requests are built as they go, so only one batch's images are in memory."""
        if role not in self.batched:
            await asyncio.gather(*(self._online(role, w) for w in works))
            return
        backend = getattr(self.runner.backends, role)
        budget = self.settings.max_inline_mb * 2**20 * 3 / 4  # raw bytes that fit once base64-encoded
        ready: list[tuple[Work, Any]] = []
        held = 0
        for work in works:
            request = self._edit_request(work) if role == "editor" else self._judge_request(work)
            try:
                backend.batch_request(request)  # one unusable input must not sink the whole batch
            except Permanent as exc:
                self._fail(role, work, str(exc), "invalid_input")
                continue
            size = len(request.image) if role == "editor" else len(request.original) + len(request.edited)
            if ready and (len(ready) >= self.settings.max_requests or held + size > budget):
                await self._submit(role, ready)
                ready, held = [], 0
            ready.append((work, request))
            held += size
        if ready:
            await self._submit(role, ready)

    async def _submit(self, role: str, chunk: list[tuple[Work, Any]]) -> None:
        batch = self.clients[role]
        requests = {w.key: r for w, r in chunk}
        display = f"picobanana-job{self.runner.job_id}-{role}"
        try:
            name = await self.runner.call(role, lambda reqs: batch.submit(reqs, display_name=display), requests)
        except CallFailed as exc:
            for work, _ in chunk:
                self._fail(role, work, f"{role} batch not accepted: {exc.reason}", exc.status)
            return
        batch_records.record_submitted(self.store, self.runner.job_id, role, name,
                                       {w.key: {"attempt_id": w.attempt_id, "hint": w.hint} for w, _ in chunk})
        log.info("job %s: %s batch %s submitted (%d requests)", self.runner.job_id, role, name, len(chunk))

    async def _wait(self, role: str) -> None:
        """Poll this job's live batches of `role` until each has ended and been ingested (or cancelled)."""
        while not self.runner.cancelled:
            live = batch_records.batches(self.store, self.runner.job_id, role, live_only=True)
            if not live:
                return
            for row in live:
                await self._poll(role, row)
            if batch_records.batches(self.store, self.runner.job_id, role, live_only=True):
                await self._sleep(self.settings.poll_s)

    async def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self.runner.cancelled and (left := end - time.monotonic()) > 0:
            await asyncio.sleep(min(left, _SLEEP_SLICE_S))

    async def _poll(self, role: str, row: batch_records.BatchRow) -> None:
        batch, timeout = self.clients[role], self.spec.role(role).timeout_s
        try:
            state = await asyncio.wait_for(batch.state(row.name), timeout)
            results = await asyncio.wait_for(batch.results(row.name), timeout) if state in DONE_WITH_OUTPUT else None
        except (Transient, RateLimited, TimeoutError) as exc:
            # Image batches are known to answer 503/504 for a while (backends.md §1.7): keep polling.
            log.warning("job %s: polling %s: %s", self.runner.job_id, row.name, exc)
            return
        except BackendError as exc:  # e.g. 404: the service no longer knows this batch
            self._close_failed(role, row, None, f"{role} batch {row.name}: {exc}")
            return
        if state not in TERMINAL:
            return
        if results is None:
            self._close_failed(role, row, state, f"{role} batch {row.name} ended {state}")
            return
        self._ingest(role, row, state, results)

    def _ingest(self, role: str, row: batch_records.BatchRow, state: str, results: dict[str, Any]) -> None:
        total = 0.0
        with self.store.transaction():
            for key, info in row.items.items():
                result = results.get(key)
                usage = getattr(result, "usage", None)
                cost = self._cost(role, usage, True) if usage is not None else 0.0
                total += cost
                attempt_id = int(info["attempt_id"])
                if role == "editor":
                    self._record_edit(attempt_id, result, f"no answer for this request in batch {row.name}", cost)
                else:
                    type_id = int(self.store.scalar("SELECT edit_type_id FROM attempts WHERE id = ?", (attempt_id,)))
                    outcome = result if result is not None else f"no answer for this request in batch {row.name}"
                    self._record_judgment(attempt_id, type_id, outcome, cost)
            output = self.clients[role].output_forms.get(row.name)
            batch_records.close(self.store, row.id, "ingested", state, output=output, cost_usd=round(total, 9))
        log.info("job %s: %s batch %s ingested (%d answers)", self.runner.job_id, role, row.name, len(results))

    def _close_failed(self, role: str, row: batch_records.BatchRow, state: str | None, reason: str) -> None:
        with self.store.transaction():
            for info in row.items.values():
                attempt_id = int(info["attempt_id"])
                if role == "editor":
                    self._record_edit(attempt_id, None, reason, 0.0)
                else:
                    type_id = int(self.store.scalar("SELECT edit_type_id FROM attempts WHERE id = ?", (attempt_id,)))
                    self._record_judgment(attempt_id, type_id, reason, 0.0)
            batch_records.close(self.store, row.id, "failed", state, error=reason)
        log.warning("job %s: %s", self.runner.job_id, reason)

    # -- rounds ----------------------------------------------------------------------------------------

    def _next(self, item: EditItem) -> Outcome | tuple[int, Any, bool]:
        """The item's final outcome, or (attempt number to work on, its 'running' row or None, first)."""
        skip_reason, existing = self.runner._existing(item)
        if skip_reason:
            return Outcome(skipped=skip_reason)
        outcome = Outcome()
        for n in range(1, self.spec.attempts + 1):
            row = existing.get(n)
            if row is None or row["status"] == "running":
                return n, row, not existing
            result = self.runner._outcome_of(row, item.edit_type_id)
            if result.get("sha256"):
                outcome.last_with_image = result
            if result.get("kept"):
                outcome.kept = result
                return outcome
            if row["status"] in NOT_RETRIED:
                return outcome
        return outcome

    async def run_items(self, items: list[EditItem], phase: str) -> dict[str, Outcome]:
        """Rounds until every item is kept, skipped or out of attempts. Returns item key → outcome."""
        outcomes: dict[str, Outcome] = {}
        rounds = 0
        while not self.runner.cancelled:
            todo = []
            for item in items:
                if item.key in outcomes:
                    continue
                state = self._next(item)
                if isinstance(state, Outcome):
                    outcomes[item.key] = state
                else:
                    todo.append((item, *state))
            self.runner.progress(phase, len(outcomes), len(items))
            if not todo:
                break
            rounds += 1
            if rounds > 2 * self.spec.attempts + 2:  # a round always finishes attempts; this is a bug guard
                raise RuntimeError(f"batch mode made no progress after {rounds - 1} rounds")
            await self._round(todo)
        return outcomes

    async def _round(self, todo: list[tuple[EditItem, int, Any, bool]]) -> None:
        live = {key for row in batch_records.batches(self.store, self.runner.job_id, live_only=True)
                for key in row.items}
        fresh = [(item, n, first) for item, n, row, first in todo
                 if attempt_key(item.key, n) not in live and not (row and row["output_sha256"])]
        written = await asyncio.gather(*(self._write(item, n, first) for item, n, first in fresh))
        await self._send("editor", [w for w in written if w is not None])
        await self._wait("editor")
        if self.runner.cancelled:
            return
        await self._send("judge", self._to_judge(todo))
        await self._wait("judge")

    def _to_judge(self, todo: list[tuple[EditItem, int, Any, bool]]) -> list[Work]:
        """This round's attempts that have an image and no judgment, and are not in a live judge batch."""
        hints: dict[str, dict] = {}
        live: set[str] = set()
        for row in batch_records.batches(self.store, self.runner.job_id):
            for key, info in row.items.items():
                hints.setdefault(key, info.get("hint") or {})
                if row.state == "submitted" and row.role == "judge":
                    live.add(key)
        works = []
        for item, n, _, _ in todo:
            key = attempt_key(item.key, n)
            row = self.store.conn.execute("SELECT id, status, output_sha256, instruction FROM attempts WHERE key = ?",
                                          (key,)).fetchone()
            if row and row["status"] == "running" and row["output_sha256"] and key not in live:
                works.append(Work(item, n, row["id"], row["instruction"] or "", hints.get(key, {}),
                                  row["output_sha256"]))
        return works


# -- the job: single-turn items, then chains turn by turn (batch_chains.py) ------------------------------------------------


async def run_batched(runner: Runner, plan_items: list[tuple[int, int]], sha_of: dict[int, str]) -> None:
    job = BatchJob(runner)
    items = [job.item(edit_key(runner.job_id, s, t), sha_of[s], source_id=s, edit_type_id=t) for s, t in plan_items]
    outcomes = await job.run_items(items, "edits")
    runner.done = len(outcomes)
    runner.failed = sum(1 for o in outcomes.values() if o.kept is None and o.skipped is None)
    if runner.spec.chains.n_chains and not runner.cancelled:
        from picobanana.pipeline.batch_chains import run_chains_batched

        await run_chains_batched(job)
