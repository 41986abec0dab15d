"""`picobanana generate`, `jobs`, `resume ID`, `cancel ID`: run the generate → edit → judge pipeline."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from pydantic import ValidationError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from picobanana.backends.base import ROLES
from picobanana.cli.context import AppContext, pass_app
from picobanana.errors import ConfigError
from picobanana.pipeline import batch_records, jobs
from picobanana.pipeline.cost import estimate
from picobanana.pipeline.plan import build_plan
from picobanana.pipeline.runner import run_job
from picobanana.pipeline.spec import BatchSettings, JobSpec
from picobanana.taxonomy import category_by_name, edit_type_by_slug, resolve_edit_type


def _pairs(values: tuple[str, ...], what: str, default_key: str | None = None) -> dict[str, str]:
    """KEY=VALUE flags → dict; with `default_key`, a bare VALUE means default_key=VALUE (`--backend gemini`)."""
    out = {}
    for value in values:
        key, sep, val = value.partition("=")
        if default_key and (not sep or value.lstrip().startswith("{")):  # a bare name, or bare JSON options
            key, val = default_key, value
        elif not sep:
            raise ConfigError(f"{what} must look like KEY=VALUE, got {value!r}")
        out[key.strip()] = val.strip()
    return out


def _role_pairs(values: tuple[str, ...], what: str) -> list[tuple[str, str]]:
    """ROLE=VALUE flags, `all` first, so that a role's own value is applied over the `all=` one."""
    return sorted(_pairs(values, what, default_key="all").items(), key=lambda pair: pair[0] != "all")


def _roles(key: str) -> tuple[str, ...]:
    if key == "all":
        return ROLES
    if key not in ROLES:
        raise ConfigError(f"unknown role {key!r}; roles: all, {', '.join(ROLES)}")
    return (key,)


def _type_id(text: str) -> int:
    if text.isdigit():
        return int(text)
    try:
        return edit_type_by_slug(text).id
    except (KeyError, ValueError):
        pass
    try:
        return resolve_edit_type(text)[0].id
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


def build_spec(spec_file: Path | None, sources: str | None, types: str | None, mix: str | None, total: int,
               quotas: tuple[str, ...], backend: tuple[str, ...], options: tuple[str, ...], concurrency: tuple[str, ...],
               rpm: tuple[str, ...], timeout: tuple[str, ...], attempts: int | None, policy: str | None,
               seed: int | None, chains: int | None, chain_turns: str | None) -> JobSpec:
    data = json.loads(spec_file.read_text()) if spec_file else {}
    spec = JobSpec.model_validate(data)
    if sources:
        spec.source_ids = [int(s) for s in sources.split(",") if s.strip()]
    if types:
        spec.mix.type_ids = [_type_id(t.strip()) for t in types.split(",") if t.strip()]
    if quotas:
        spec.mix.kind = "categories"
        spec.mix.category_quotas = {category_by_name(k).id if not k.isdigit() else int(k): int(v)
                                    for k, v in _pairs(quotas, "--category-quota").items()}
    if mix:
        spec.mix.kind = mix
    if total:
        spec.mix.total = total
    for flag, field, cast in ((backend, "backend", str), (concurrency, "concurrency", int), (rpm, "rpm", float),
                              (timeout, "timeout_s", float)):
        for key, value in _role_pairs(flag, f"--{field}"):
            for role in _roles(key):
                setattr(spec.roles[role], field, cast(value))
    for key, value in _role_pairs(options, "--backend-options"):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--backend-options {key}: not JSON ({exc})") from exc
        if not isinstance(parsed, dict):
            raise ConfigError(f"--backend-options {key}: expected a JSON object, got {value!r}")
        for role in _roles(key):  # merged: `all={"base_url": …}` plus `editor={"preset": "paper"}` keeps both
            spec.roles[role].options = {**spec.roles[role].options, **parsed}
    if attempts is not None:
        spec.attempts = attempts
    if policy:
        spec.policy = policy
    if seed is not None:
        spec.seed = seed
    if chains is not None:
        spec.chains.n_chains = chains
    if chain_turns:
        low, _, high = chain_turns.partition("-")
        spec.chains.min_turns, spec.chains.max_turns = int(low), int(high or low)
    return JobSpec.model_validate(spec.model_dump())  # re-validate the edited spec


def apply_batch(spec: JobSpec, enabled: bool, roles: str | None, poll: float | None, size: int | None) -> JobSpec:
    """--batch and its settings (any of them implies --batch)."""
    if not (enabled or roles or poll is not None or size is not None):
        return spec
    data = (spec.batch or BatchSettings()).model_dump()
    if roles:
        data["roles"] = [r.strip() for r in roles.split(",") if r.strip()]
    if poll is not None:
        data["poll_s"] = poll
    if size is not None:
        data["max_requests"] = size
    try:
        return JobSpec.model_validate(spec.model_dump() | {"batch": data})
    except ValidationError as exc:  # a one-line error, not a traceback
        error = exc.errors()[0]
        raise ConfigError(f"--batch: {'.'.join(map(str, error['loc'][1:]))}: {error['msg']}") from exc


@contextmanager
def progress_reporter(app: AppContext, label: str) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar per pipeline phase, as the runner's `progress(phase, done, total)` callback."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=app.err, transient=False) as progress:
        tasks: dict[str, int] = {}

        def on_progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(f"{label} {phase}", total=total)
            progress.update(tasks[phase], completed=done, total=total)

        yield on_progress


def _run(app: AppContext, store, job_id: int) -> None:
    with progress_reporter(app, f"job {job_id}") as on_progress:
        summary = run_job(store, job_id, progress=on_progress)
    _print_summary(app, summary.as_dict())


def _print_summary(app: AppContext, s: dict) -> None:
    table = Table(title=f"job {s['job_id']}: {s['status']}", show_header=False)
    table.add_row("items", f"{s['items']:,}")
    table.add_row("kept (edits)", f"{s['kept']:,}")
    table.add_row("failed (all attempts)", f"{s['failed']:,}")
    for reason, n in s["skipped"].items():
        table.add_row(f"skipped: {reason}", f"{n:,}")
    for status, n in sorted(s["attempts"].items()):
        table.add_row(f"attempts {status}", f"{n:,}")
    for reason, n in s["failure_reasons"].items():
        table.add_row(f"  failure: {reason}", f"{n:,}")
    table.add_row("chains (complete / made)", f"{s['chains_complete']:,} / {s['chains']:,}")
    table.add_row("rate-limit signals", f"{s['rate_limited']:,}")
    table.add_row("cost", f"${s['cost_usd']:.4f}")
    batch = s.get("batch")
    if batch:
        for what, n in batch["batches"].items():
            table.add_row(f"batch jobs {what}", f"{n:,}")
        table.add_row("batch requests", f"{batch['requests']:,}")
        table.add_row("batch cost (−50 %; saved)", f"${batch['cost_usd']:.4f} (${batch['saved_usd']:.4f})")
    table.add_row("time", f"{s['seconds']:.1f} s")
    app.console.print(table)


@click.command()
@click.option("--spec", "spec_file", type=click.Path(dir_okay=False, path_type=Path), help="A JobSpec as JSON.")
@click.option("--sources", help="Source ids, comma-separated (default: every source with an image).")
@click.option("--types", help="Edit types (ids, names or slugs), comma-separated (default: all 35).")
@click.option("--mix", type=click.Choice(["each", "counts", "categories", "release"]),
              help="each = every type on every source; release = --total items drawn like the release.")
@click.option("--total", type=int, default=0, help="Items to draw with --mix release.")
@click.option("--category-quota", "quotas", multiple=True, help="CATEGORY=N items (repeatable).")
@click.option("--backend", multiple=True,
              help="NAME for every role, or ROLE=NAME with ROLE in writer/rewriter/editor/judge/all "
                   "(local (default), gemini, vllm, fake).")
@click.option("--backend-options", "options", multiple=True,
              help="JSON options for every role, or ROLE=JSON; a role's options are merged over all='s.")
@click.option("--concurrency", multiple=True, help="ROLE=N calls in flight.")
@click.option("--rpm", multiple=True, help="ROLE=N requests per minute.")
@click.option("--timeout", multiple=True, help="ROLE=SECONDS per call.")
@click.option("--attempts", type=int, help="Tries per edit (default 3).")
@click.option("--policy", help="Policy name, name@version or id (default: the active one).")
@click.option("--seed", type=int)
@click.option("--chains", type=int, help="Multi-turn chains to make from kept edits.")
@click.option("--chain-turns", help="Turns per chain, e.g. 2-5.")
@click.option("--batch", "batch", is_flag=True,
              help="Batch mode (gemini): editor and judge calls as batch jobs at half price; hours, not seconds.")
@click.option("--batch-roles", help="Roles sent as batches: editor,judge (default both; implies --batch).")
@click.option("--batch-poll", type=float, help="Seconds between polls of a batch (default 30; implies --batch).")
@click.option("--batch-size", type=int, help="Requests per batch (default 100; implies --batch).")
@click.option("--dry-run", is_flag=True, help="Print the plan and the cost estimate; run nothing.")
@pass_app
def generate(app: AppContext, dry_run: bool, spec_file: Path | None, **flags) -> None:
    """Generate edits: write → rewrite → edit → judge each (source, edit type), with retries and chains."""
    spec = build_spec(spec_file, flags["sources"], flags["types"], flags["mix"], flags["total"], flags["quotas"],
                      flags["backend"], flags["options"], flags["concurrency"], flags["rpm"], flags["timeout"],
                      flags["attempts"], flags["policy"], flags["seed"], flags["chains"], flags["chain_turns"])
    spec = apply_batch(spec, flags["batch"], flags["batch_roles"], flags["batch_poll"], flags["batch_size"])
    spec = spec.model_copy(update={"prices": {**app.settings.prices, **spec.prices}})
    with app.open_store() as store:
        plan = build_plan(store, spec)
        cost = estimate(spec, plan.items)
        table = Table(title="plan" + (" (dry run)" if dry_run else ""), show_header=False)
        table.add_row("sources", f"{plan.sources:,}")
        table.add_row("items (source × edit type)", f"{len(plan.items):,}")
        if plan.missing_sources:
            table.add_row("sources without image / unknown", ", ".join(map(str, plan.missing_sources[:20])))
        if plan.shortfall:
            table.add_row("items that could not be placed", f"{plan.shortfall:,}")
        table.add_row("backends", ", ".join(f"{r}={spec.role(r).backend}" for r in ROLES))
        table.add_row("attempts per edit", str(spec.attempts))
        if spec.batch:
            table.add_row("batch mode", f"{', '.join(spec.batch.roles)}: ≤ {spec.batch.max_requests} requests per "
                          f"batch, polled every {spec.batch.poll_s:g} s, −50 % (not in the estimate)")
        table.add_row("chains", f"{spec.chains.n_chains} × {spec.chains.min_turns}–{spec.chains.max_turns} turns")
        table.add_row("attempts (min / expected / max)",
                      f"{cost.attempts_min:,} / {cost.attempts_expected:,} / {cost.attempts_max:,}")
        table.add_row("cost estimate (min / expected / max)",
                      f"${cost.usd_min:.4f} / ${cost.usd_expected:.4f} / ${cost.usd_max:.4f}")
        app.console.print(table)
        if dry_run or not plan.items:
            return
        job_id = jobs.create_job(store, spec, len(plan.items))
        app.console.print(f"job {job_id} started (resume with `picobanana resume {job_id}` if interrupted)")
        _run(app, store, job_id)


@click.command(name="jobs")
@click.option("--limit", type=int, default=20)
@pass_app
def jobs_command(app: AppContext, limit: int) -> None:
    """List generate jobs, newest first."""
    with app.open_store() as store:
        rows = jobs.list_jobs(store, limit)
        batches = {job.id: batch_records.states_text(store, job.id) for job in rows}
    with_batches = any(batches.values())  # the column only when some job ran in Batch mode
    table = Table("id", "status", "done / total", "failed", "kept", "cost", *(["batches"] * with_batches),
                  "created", "message")
    for job in rows:
        s = job.summary or {}
        table.add_row(str(job.id), job.status, f"{job.done:,} / {job.total or 0:,}", f"{job.failed:,}",
                      str(s.get("kept", "")), f"${s['cost_usd']:.4f}" if "cost_usd" in s else "",
                      *([batches[job.id]] * with_batches), job.created_at[:19], job.message or "")
    app.console.print(table)


@click.command()
@click.argument("job_id", type=int)
@click.option("--force", is_flag=True, help="Resume even if the job's heartbeat is recent (its process died).")
@pass_app
def resume(app: AppContext, job_id: int, force: bool) -> None:
    """Resume a job: finished attempts are kept, interrupted ones redone, the rest done."""
    with app.open_store() as store:
        job = jobs.get_job(store, job_id)
        if job.status not in jobs.RESUMABLE:
            raise ConfigError(f"job {job_id} is {job.status}; nothing to resume")
        age = jobs.heartbeat_age(job)
        if job.status == "running" and age is not None and age < jobs.ALIVE_S and not force:
            # Two runners of one job would not duplicate rows, but would do the same work twice.
            raise ConfigError(f"job {job_id} looks alive (heartbeat {age:.1f} s ago); if its process is gone, "
                              f"wait {jobs.ALIVE_S:.0f} s or pass --force")
        for row in batch_records.batches(store, job_id, live_only=True):  # polled by name, never resubmitted
            app.console.print(f"job {job_id}: {row.role} batch {row.name} ({len(row.items)} requests, submitted "
                              f"{row.submitted_at[:19]}) is still open: polling it")
        _run(app, store, job_id)


@click.command()
@click.argument("job_id", type=int)
@pass_app
def cancel(app: AppContext, job_id: int) -> None:
    """Cancel a job: a running job stops after the items in flight; finished work stays."""
    with app.open_store() as store:
        status = jobs.cancel_job(store, job_id)
    app.console.print(f"job {job_id}: {status}")


def register(cli: click.Group) -> None:
    for command in (generate, jobs_command, resume, cancel):
        cli.add_command(command)
