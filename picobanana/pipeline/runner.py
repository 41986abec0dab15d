"""The job loop: for each (source, edit type) item, write → rewrite → edit → judge → verdict, with retries.

Durability protocol (what makes `kill -9` + resume exact):
  1. the writer is asked first; "not eligible" marks the edit skipped (with the reason), no attempt;
  2. the attempt row (natural key `<edit key>#a<n>`) is inserted with status 'running' BEFORE the remaining
     backend calls;
  3. output image + status + judgment are written in ONE transaction.
A resumed job re-derives the same plan and seeds, skips every finished attempt and redoes exactly the
'running' ones (same key, row updated: no duplicates). Work lost to a kill is at most the calls in flight.

Failures are data: every failed attempt gets a status and a reason, and a failed attempt (editor failure or
judged fail) is retried with a fresh instruction sample (a new seed) up to `spec.attempts`. 'unsupported' and
'invalid_input' are not retried: another sample cannot fix them. Nothing a backend does crashes a job.

With `spec.batch` the editor and/or judge calls go out as Gemini batch jobs, round by round, under the same
rows and keys (pipeline/batch_mode.py; its doc adds what a batch needs to resume).

The asyncio loop is single-threaded, so the store is written from it directly: transactions are short
(two per attempt) and never span an await.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from picobanana.backends.base import (
    ROLES,
    EditRequest,
    InstructionRequest,
    JudgeRequest,
    RewriteRequest,
    Turn,
    Usage,
)
from picobanana.backends.registry import create_backend
from picobanana.errors import BackendError, ImageError, Permanent, RateLimited, Transient
from picobanana.pipeline import jobs
from picobanana.pipeline.batch_records import summary as batch_summary
from picobanana.pipeline.cost import call_cost
from picobanana.pipeline.keys import attempt_key, edit_key, seed_for
from picobanana.pipeline.limits import BackendGate, RoleLimiter, backoff_delay
from picobanana.pipeline.plan import build_plan
from picobanana.pipeline.spec import JobSpec
from picobanana.store.db import Store
from picobanana.store.policies import Policy, active_policy, get_policy
from picobanana.store.verdicts import effective_verdict_sql
from picobanana.store.writes import (
    NewAttempt,
    NewEdit,
    NewJudgment,
    ensure_edits,
    insert_attempts,
    record_judgments,
    set_attempt_output,
)
from picobanana.taxonomy import edit_type_by_id

log = logging.getLogger(__name__)

ORIGIN = "pipeline"
NOT_RETRIED = ("unsupported", "invalid_input")
HEARTBEAT_S = 0.2  # also how fast a cancellation is seen


@dataclass
class Backends:
    writer: Any
    rewriter: Any
    editor: Any
    judge: Any

    @classmethod
    def from_spec(cls, spec: JobSpec) -> Backends:
        return cls(**{role: create_backend(role, spec.role(role).backend, spec.role(role).options) for role in ROLES})


class CallFailed(Exception):
    """A backend call that did not complete after the bounded retries; carries the attempt status to record."""

    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass
class EditItem:
    key: str
    source_id: int
    edit_type_id: int
    image: bytes
    turn: int = 1
    chain_id: int | None = None
    parent_attempt_id: int | None = None
    history: tuple[Turn, ...] = ()


@dataclass
class Outcome:
    kept: dict | None = None  # {"attempt_id", "sha256", "instruction", "hint"} of the kept attempt
    skipped: str | None = None
    last_with_image: dict | None = None  # for chains that continue past a failed turn


@dataclass
class JobSummary:
    job_id: int
    status: str
    items: int = 0
    kept: int = 0
    failed: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    failure_reasons: dict[str, int] = field(default_factory=dict)
    chains: int = 0
    chains_complete: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0
    rate_limited: int = 0
    errors: list[str] = field(default_factory=list)
    batch: dict | None = None  # Batch mode: batches by role and state, requests, cost and saving

    def as_dict(self) -> dict:
        return dict(self.__dict__, items_done=self.kept + self.failed + sum(self.skipped.values()),
                    items_failed=self.failed)


ProgressFn = Callable[[str, int, int], None]


class Runner:
    def __init__(self, store: Store, job_id: int, spec: JobSpec, backends: Backends, policy: Policy,
                 progress: ProgressFn | None = None):
        self.store, self.job_id, self.spec, self.backends, self.policy = store, job_id, spec, backends, policy
        self.progress = progress or (lambda phase, done, total: None)
        gates: dict[str, BackendGate] = {}
        self.limiters = {}
        for role in ROLES:
            settings = spec.role(role)
            gate = gates.setdefault(settings.backend, BackendGate(settings.backend))
            self.limiters[role] = RoleLimiter(settings.concurrency, settings.rpm, gate)
        self.gates = gates
        self.rng = random.Random(seed_for(spec.seed, job_id, "jitter"))
        self.cancelled = False
        self.done = 0
        self.failed = 0
        self.errors: list[str] = []
        self._image_cache: dict[str, bytes] = {}

    # -- one backend call: limits, timeout, typed retries ------------------------------------------------

    async def call(self, role: str, method: Callable, request: Any) -> Any:
        limiter, settings, spec = self.limiters[role], self.spec.role(role), self.spec
        retries = rate_limited = 0
        while True:
            await limiter.gate.wait()
            await limiter.bucket.take(limiter.gate.rate_factor)
            delay = 0.0
            async with limiter.semaphore:
                try:
                    result = await asyncio.wait_for(method(request), settings.timeout_s)
                except RateLimited as exc:
                    rate_limited += 1
                    if rate_limited > spec.rate_limit_retries:
                        raise CallFailed("api_error", f"{role}: rate limited {rate_limited} times ({exc})") from exc
                    pause = exc.retry_after if exc.retry_after is not None else backoff_delay(
                        rate_limited - 1, spec.backoff_base_s, spec.backoff_max_s, self.rng)
                    limiter.gate.slow_down(pause)
                    continue
                except (Transient, TimeoutError) as exc:
                    retries += 1
                    timed_out = isinstance(exc, TimeoutError)
                    if retries > spec.call_retries:
                        what = f"no answer within {settings.timeout_s:g} s" if timed_out else str(exc)
                        raise CallFailed("timeout" if timed_out else "api_error",
                                         f"{role}: {what} (after {retries} tries)") from exc
                    delay = backoff_delay(retries - 1, spec.backoff_base_s, spec.backoff_max_s, self.rng)
                except (Permanent, BackendError) as exc:
                    raise CallFailed("api_error", f"{role}: {exc}") from exc
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a buggy backend fails the attempt, never the job
                    raise CallFailed("error", f"{role}: {type(exc).__name__}: {exc}") from exc
                else:
                    limiter.gate.succeeded()
                    return result
            await asyncio.sleep(delay)

    def _cost(self, role: str, usage: Usage) -> float:
        return call_cost(usage, self.spec.prices.get(self.spec.role(role).backend))

    # -- storage ---------------------------------------------------------------------------------------

    def _image(self, sha256: str) -> bytes:
        data = self._image_cache.get(sha256)
        if data is None:
            path = self.store.images.file_of(sha256)
            if path is None:
                raise ImageError(f"image {sha256} is not in the store")
            data = path.read_bytes()
            if len(self._image_cache) > 256:
                self._image_cache.clear()
            self._image_cache[sha256] = data
        return data

    def _new_edit(self, item: EditItem) -> NewEdit:
        category = edit_type_by_id(item.edit_type_id).category.id
        return NewEdit(key=item.key, source_id=item.source_id, edit_type_id=item.edit_type_id, category_id=category,
                       origin=ORIGIN, turn=item.turn, parent_attempt_id=item.parent_attempt_id,
                       chain_id=item.chain_id, job_id=self.job_id)

    def _existing(self, item: EditItem) -> tuple[str | None, dict[int, dict]]:
        row = self.store.conn.execute("SELECT id, skip_reason FROM edits WHERE key = ?", (item.key,)).fetchone()
        if row is None:
            return None, {}
        attempts = {}
        for a in self.store.conn.execute(
                "SELECT a.attempt_no, a.id, a.status, a.output_sha256, a.instruction, j.compliance, j.seamlessness, "
                "j.preservation, j.quality FROM attempts a LEFT JOIN judgments j ON j.attempt_id = a.id "
                "WHERE a.edit_id = ?", (row["id"],)):
            attempts[a["attempt_no"]] = dict(a)
        return row["skip_reason"], attempts

    def _keeps(self, scores: tuple[float, float, float, float], edit_type_id: int) -> bool:
        category = edit_type_by_id(edit_type_id).category.id
        return self.policy.keeps(self.policy.score(scores, category), category)

    def _record_skip(self, item: EditItem, reason: str) -> None:
        with self.store.transaction() as rev:
            ensure_edits(self.store, [self._new_edit(item)], rev)
            self.store.conn.execute("UPDATE edits SET skip_reason = ?, rev = ? WHERE key = ?", (reason, rev, item.key))

    def _start_attempt(self, item: EditItem, n: int, status: str = "running", **fields: Any) -> int:
        key = attempt_key(item.key, n)
        category = edit_type_by_id(item.edit_type_id).category.id
        with self.store.transaction() as rev:
            edit_id = ensure_edits(self.store, [self._new_edit(item)], rev)[item.key]
            inserted = insert_attempts(self.store, [NewAttempt(
                key=key, edit_id=edit_id, attempt_no=n, status=status, origin=ORIGIN, edit_type_id=item.edit_type_id,
                category_id=category, turn=item.turn, backend=self.spec.role("editor").backend, **fields)], rev)
            attempt_id = int(self.store.scalar("SELECT id FROM attempts WHERE key = ?", (key,)))
            if not inserted:  # a resumed 'running' attempt: the same row is redone
                set_attempt_output(self.store, attempt_id, status=status, rev=rev, **fields)
        return attempt_id

    def _finish(self, attempt_id: int, *, status: str, reason: str | None = None, image: bytes | None = None,
                judgment: NewJudgment | None = None, **fields: Any) -> str | None:
        with self.store.transaction() as rev:
            sha = None
            if image is not None:
                try:
                    sha = self.store.images.put_bytes(image).sha256
                except ImageError as exc:
                    status, reason, judgment = "error", f"editor returned an unusable image: {exc}", None
            set_attempt_output(self.store, attempt_id, status=status, rev=rev, output_sha256=sha,
                               failure_reason=reason, **fields)
            if judgment is not None:
                record_judgments(self.store, [judgment], rev)
        return sha

    # -- one edit: attempts until one is kept ----------------------------------------------------------

    async def process_edit(self, item: EditItem) -> Outcome:
        skip_reason, existing = self._existing(item)
        if skip_reason:
            return Outcome(skipped=skip_reason)
        outcome = Outcome()
        for n in range(1, self.spec.attempts + 1):
            done = existing.get(n)
            if done is not None and done["status"] != "running":
                result = self._outcome_of(done, item.edit_type_id)
            else:
                result = await self.attempt(item, n, first=not existing)
            if result.get("skipped"):
                return Outcome(skipped=result["skipped"])
            if result.get("sha256"):
                outcome.last_with_image = result
            if result.get("kept"):
                outcome.kept = result
                return outcome
            if result.get("status") in NOT_RETRIED:
                break
        return outcome

    def _outcome_of(self, row: dict, edit_type_id: int) -> dict:
        kept = (row["status"] == "ok" and row["compliance"] is not None and self._keeps(
            (row["compliance"], row["seamlessness"], row["preservation"], row["quality"]), edit_type_id))
        return {"attempt_id": row["id"], "status": row["status"], "sha256": row["output_sha256"],
                "instruction": row["instruction"], "hint": {}, "kept": kept}

    async def attempt(self, item: EditItem, n: int, first: bool) -> dict:
        started = time.perf_counter()
        seed = seed_for(self.spec.seed, item.key, n)
        b, cost = self.backends, 0.0
        try:
            written = await self.call("writer", b.writer.write, InstructionRequest(
                image=item.image, edit_type_id=item.edit_type_id, seed=seed, history=item.history))
        except CallFailed as exc:
            attempt_id = self._start_attempt(item, n, status=exc.status, failure_reason=exc.reason)
            return {"attempt_id": attempt_id, "status": exc.status}
        cost += self._cost("writer", written.usage)
        if not written.eligible or not written.instruction:
            reason = written.reason or "the writer gave no instruction"
            if first and n == 1:
                self._record_skip(item, reason)
                return {"skipped": reason}
            attempt_id = self._start_attempt(item, n, status="invalid_input", failure_reason=f"not eligible: {reason}")
            return {"attempt_id": attempt_id, "status": "invalid_input"}
        attempt_id = self._start_attempt(item, n, instruction=written.instruction,
                                         prompt_version=written.prompt_version)
        base = {"attempt_id": attempt_id, "instruction": written.instruction, "hint": written.hint}

        def facts() -> dict:
            return {"latency_ms": (time.perf_counter() - started) * 1000, "cost_usd": cost}

        try:
            short = await self.call("rewriter", b.rewriter.rewrite, RewriteRequest(
                instruction=written.instruction, edit_type_id=item.edit_type_id, seed=seed))
            cost += self._cost("rewriter", short.usage)
            edited = await self.call("editor", b.editor.edit, EditRequest(
                image=item.image, instruction=written.instruction, edit_type_id=item.edit_type_id,
                hint=written.hint, seed=seed))
            cost += self._cost("editor", edited.usage)
        except CallFailed as exc:
            self._finish(attempt_id, status=exc.status, reason=exc.reason, **facts())
            return base | {"status": exc.status}
        out = {"short_instruction": short.short_instruction, "model": edited.model,
               "model_version": edited.model_version}
        if edited.status != "ok" or not edited.image:
            status = edited.status if edited.status != "ok" else "no_image"
            self._finish(attempt_id, status=status, reason=edited.reason or status, **out, **facts())
            return base | {"status": status}
        try:
            verdict = await self.call("judge", b.judge.judge, JudgeRequest(
                original=item.image, edited=edited.image, instruction=written.instruction,
                edit_type_id=item.edit_type_id, hint=written.hint))
        except CallFailed as exc:
            # The image exists: keep it, unjudged (verdict 'pending'), so it can be judged again later.
            sha = self._finish(attempt_id, status="ok", reason=f"not judged: {exc.reason}", image=edited.image,
                               **out, **facts())
            return base | {"status": "ok", "sha256": sha}
        cost += self._cost("judge", verdict.usage)
        scores = (verdict.compliance, verdict.seamlessness, verdict.preservation, verdict.quality)
        kept = self._keeps(scores, item.edit_type_id)
        judgment = NewJudgment(attempt_id=attempt_id, compliance=scores[0], seamlessness=scores[1],
                               preservation=scores[2], quality=scores[3], judge_overall=verdict.overall,
                               rationale=verdict.rationale, judge_backend=self.spec.role("judge").backend,
                               judge_model=verdict.model, judge_model_version=verdict.model_version,
                               prompt_version=verdict.prompt_version)
        sha = self._finish(attempt_id, status="ok", reason=None if kept else "judged below the policy threshold",
                           image=edited.image, judgment=judgment, **out, **facts())
        return base | {"status": "ok", "sha256": sha, "kept": kept and sha is not None}

    # -- the job -----------------------------------------------------------------------------------------

    async def _watch(self, stop: asyncio.Event) -> None:
        """Heartbeat + cancellation poll: the job row is the only channel `picobanana cancel` has."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), HEARTBEAT_S)
            except TimeoutError:
                pass
            if jobs.heartbeat(self.store, self.job_id, self.done, self.failed) == "cancelled":
                self.cancelled = True

    async def run_items(self, items: list[EditItem | Callable], phase: str,
                        handle: Callable[[Any], Any]) -> None:
        queue: asyncio.Queue = asyncio.Queue()
        for item in items:
            queue.put_nowait(item)
        total, finished = len(items), 0
        workers = sum(self.spec.role(r).concurrency for r in ROLES)

        async def worker() -> None:
            nonlocal finished
            while not self.cancelled:
                try:
                    item = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                try:
                    await handle(item)
                except Exception as exc:  # a bug or a store error on one item must not stop the others
                    log.exception("item failed")
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                    self.failed += 1
                finished += 1
                self.progress(phase, finished, total)

        self.progress(phase, 0, total)
        await asyncio.gather(*(worker() for _ in range(min(workers, max(1, total)))))

    async def run(self) -> JobSummary:
        started = time.perf_counter()
        plan = build_plan(self.store, self.spec)
        jobs.mark_running(self.store, self.job_id, len(plan.items))
        previous = jobs.get_job(self.store, self.job_id).summary or {}
        sha_of = dict(self.store.conn.execute("SELECT id, image_sha256 FROM sources WHERE image_sha256 IS NOT NULL"))

        async def single(pair: tuple[int, int]) -> None:
            source_id, type_id = pair
            item = EditItem(key=edit_key(self.job_id, source_id, type_id), source_id=source_id,
                            edit_type_id=type_id, image=self._image(sha_of[source_id]))
            outcome = await self.process_edit(item)
            self.done += 1
            if outcome.kept is None and outcome.skipped is None:
                self.failed += 1

        stop = asyncio.Event()
        watcher = asyncio.create_task(self._watch(stop))
        try:
            if self.spec.batch is not None:  # editor/judge as Gemini batch jobs, round by round
                from picobanana.pipeline.batch_mode import run_batched

                await run_batched(self, plan.items, sha_of)
            else:
                await self.run_items(plan.items, "edits", single)
                if self.spec.chains.n_chains and not self.cancelled:
                    from picobanana.pipeline.chains import run_chains

                    await run_chains(self)
        finally:
            stop.set()
            await watcher
        status = "cancelled" if self.cancelled or jobs.job_status(self.store, self.job_id) == "cancelled" else "done"
        summary = summarize(self.store, self.job_id, self.policy, status)
        summary.seconds = round(previous.get("seconds", 0.0) + time.perf_counter() - started, 3)
        summary.rate_limited = previous.get("rate_limited", 0) + sum(g.rate_limited for g in self.gates.values())
        summary.errors = self.errors[:20]
        jobs.finish(self.store, self.job_id, status, summary.as_dict(),
                    message=f"{len(self.errors)} item errors" if self.errors else None)
        return summary


def summarize(store: Store, job_id: int, policy: Policy, status: str) -> JobSummary:
    """The job's counts, from the database (so a resumed job reports all of its work, not just this run)."""
    s = JobSummary(job_id=job_id, status=status)
    s.items = int(store.scalar("SELECT total FROM jobs WHERE id = ?", (job_id,)) or 0)
    s.skipped = dict(Counter(r[0] for r in store.conn.execute(
        "SELECT skip_reason FROM edits WHERE job_id = ? AND skip_reason IS NOT NULL AND chain_id IS NULL", (job_id,))))
    verdict = effective_verdict_sql(policy, "a", "j", "h")
    rows = store.conn.execute(
        f"SELECT e.id, e.chain_id, a.status, a.failure_reason, a.cost_usd, {verdict} "
        "FROM edits e JOIN attempts a ON a.edit_id = e.id LEFT JOIN judgments j ON j.attempt_id = a.id "
        "LEFT JOIN human_decisions h ON h.attempt_id = a.id WHERE e.job_id = ?", (job_id,)).fetchall()
    kept_edits: set[int] = set()
    single_edits: set[int] = set()
    attempts: Counter = Counter()
    reasons: Counter = Counter()
    for edit_id, chain_id, status_, reason, cost, v in rows:
        # 'ok' attempts split by verdict: an image the judge failed is a failure of the attempt too.
        attempts["judged_fail" if status_ == "ok" and v == "fail" else status_] += 1
        s.cost_usd += cost or 0.0
        if reason and status_ != "ok":
            reasons[reason.split(" (after")[0][:80]] += 1
        if chain_id is None:
            single_edits.add(edit_id)
            if v == "keep":
                kept_edits.add(edit_id)
    s.kept, s.failed = len(kept_edits), len(single_edits - kept_edits)
    s.attempts, s.failure_reasons = dict(attempts), dict(reasons.most_common(10))
    s.cost_usd = round(s.cost_usd, 6)
    s.batch = batch_summary(store, job_id)
    s.chains = int(store.scalar("SELECT COUNT(*) FROM chains WHERE job_id = ?", (job_id,)))
    s.chains_complete = int(store.scalar(
        f"SELECT COUNT(*) FROM chains c WHERE c.job_id = ? AND c.n_turns = (SELECT COUNT(DISTINCT e.turn) FROM edits e "
        f"JOIN attempts a ON a.edit_id = e.id LEFT JOIN judgments j ON j.attempt_id = a.id "
        f"LEFT JOIN human_decisions h ON h.attempt_id = a.id WHERE e.chain_id = c.id AND {verdict} = 'keep')",
        (job_id,)))
    return s


def resolve_policy(store: Store, spec: JobSpec) -> Policy:
    return get_policy(store, spec.policy) if spec.policy else active_policy(store)


async def run_job_async(store: Store, job_id: int, backends: Backends | None = None,
                        progress: ProgressFn | None = None) -> JobSummary:
    job = jobs.get_job(store, job_id)
    spec = job.spec
    runner = Runner(store, job_id, spec, backends or Backends.from_spec(spec), resolve_policy(store, spec), progress)
    try:
        return await runner.run()
    except BaseException as exc:
        # Ctrl-C or a bug outside any item: leave the job resumable, with the reason.
        status = "interrupted" if isinstance(exc, (KeyboardInterrupt, asyncio.CancelledError)) else "failed"
        jobs.finish(store, job_id, status, summarize(store, job_id, runner.policy, status).as_dict(),
                    message=f"{type(exc).__name__}: {exc}"[:500])
        raise


def run_job(store: Store, job_id: int, backends: Backends | None = None,
            progress: ProgressFn | None = None) -> JobSummary:
    return asyncio.run(run_job_async(store, job_id, backends, progress))


__all__ = ["Backends", "JobSummary", "Runner", "run_job", "run_job_async", "summarize"]
