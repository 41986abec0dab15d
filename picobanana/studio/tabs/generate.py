"""The Generate tab: choose sources, edit types, backends and attempts; see the plan and its cost; start a job
in the background; watch every job's progress (polling the job table); cancel, resume, and read why work failed.

Jobs run in child processes (`pipeline/worker.py`), so they outlive the browser tab and the studio; every tab
of every curator reads the same `jobs` rows. The poll timer runs only while some job is active.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from picobanana.backends.base import ROLES
from picobanana.backends.registry import backend_names
from picobanana.curation.failures import job_failures
from picobanana.curation.job_sources import add_folder, add_uploads, find_sources
from picobanana.errors import PicobananaError
from picobanana.io.ingest import IngestReport
from picobanana.pipeline.cost import estimate_job
from picobanana.pipeline.spec import ChainSettings, EditMix, JobSpec, RoleSettings
from picobanana.pipeline.worker import (
    JobBoard,
    JobView,
    JobWorkers,
    RateMeter,
    cancel_job,
    resume_job,
    start_job,
)
from picobanana.store.policies import list_policies
from picobanana.taxonomy import CATEGORIES, EDIT_TYPES

POLL_S = 2.0  # while some job is active
WATCH_S = 15.0  # always: notices jobs started elsewhere (another curator, the command line)
MIX_KINDS = [("each: every chosen type on every source", "each"),
             ("counts: N items of each chosen type", "counts"),
             ("categories: N items per chosen category", "categories"),
             ("release: a total drawn like the release", "release")]
TYPE_CHOICES = [(f"{t.category.name} · {t.name}", t.slug) for t in EDIT_TYPES]
CATEGORY_CHOICES = [(c.name, c.slug) for c in CATEGORIES]
JOB_COLUMNS = ["job", "status", "progress", "failed", "kept", "items/min", "heartbeat", "created", "by", "message"]
FAILURE_COLUMNS = ["status", "reason", "count", "example attempts", "example edit types", "example sources"]
SOURCE_COLUMNS = ["id", "uri", "origin", "license"]
ACTIVE_POLICY = "(the active policy)"


# ------------------------------------------------------------------------------------------ parsing


def parse_ids(text: str | None) -> list[int]:
    """"3, 5-8, 12" → [3, 5, 6, 7, 8, 12] (order kept, duplicates dropped)."""
    ids: list[int] = []
    for part in (text or "").replace(";", ",").replace(" ", ",").split(","):
        if not part:
            continue
        low, dash, high = part.partition("-")
        try:
            ids += list(range(int(low), int(high) + 1)) if dash else [int(low)]
        except ValueError:
            raise gr.Error(f"source ids: {part!r} is not a number or a range like 5-8") from None
    return list(dict.fromkeys(ids))


def _json_object(text: str | None, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise gr.Error(f"{what}: invalid JSON ({exc})") from None
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise gr.Error(f'{what}: expected an object of role → object, e.g. {{"editor": {{"timeout_s": 60}}}}')
    unknown = set(value) - {"all", *ROLES}
    if unknown:
        raise gr.Error(f"{what}: unknown roles {sorted(unknown)}; use all, {', '.join(ROLES)}")
    return value


def _json_fields(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise gr.Error(f"job settings: invalid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise gr.Error('job settings: expected an object of JobSpec fields, e.g. {"batch": {"roles": ["editor"]}}')
    return value


def _per_role(value: dict[str, Any], role: str) -> dict[str, Any]:
    return {**value.get("all", {}), **value.get(role, {})}


def build_spec(source_ids: str, mix_kind: str, types: list[str], categories: list[str], per_count: float,
               total: float, writer: str, rewriter: str, editor: str, judge: str, options_json: str,
               roles_json: str, attempts: float, concurrency: float, chains: float, min_turns: float,
               max_turns: float, policy: str, seed: float, spec_json: str = "{}",
               prices: dict | None = None) -> JobSpec:
    """The form's widgets → a validated JobSpec (pydantic checks ranges and names).

    `spec_json` holds any other JobSpec fields (e.g. `batch`, `call_retries`, `prices`), merged last;
    its prices win over the configured price table, as a job spec's own do on the command line.
    """
    slug_to_type = {t.slug: t.id for t in EDIT_TYPES}
    slug_to_category = {c.slug: c.id for c in CATEGORIES}
    type_ids = [slug_to_type[s] for s in types or []]
    n = int(per_count or 0)
    if mix_kind == "counts" and not type_ids:
        raise gr.Error("counts: choose the edit types to count")
    if mix_kind == "categories" and not categories:
        raise gr.Error("categories: choose at least one category")
    mix = EditMix(kind=mix_kind, type_ids=type_ids,
                  counts={t: n for t in type_ids} if mix_kind == "counts" else {},
                  category_quotas={slug_to_category[c]: n for c in categories or []}
                  if mix_kind == "categories" else {},
                  total=int(total or 0) if mix_kind == "release" else 0)
    options, settings = _json_object(options_json, "backend options"), _json_object(roles_json, "role settings")
    backends = {"writer": writer, "rewriter": rewriter, "editor": editor, "judge": judge}
    try:
        roles = {role: RoleSettings.model_validate({"concurrency": int(concurrency or 1),
                                                    **_per_role(settings, role), "backend": backends[role] or "local",
                                                    "options": _per_role(options, role)})
                 for role in ROLES}
        spec = JobSpec(source_ids=parse_ids(source_ids), mix=mix, roles=roles, attempts=int(attempts or 1),
                       policy=None if not policy or policy == ACTIVE_POLICY else policy, seed=int(seed or 0),
                       chains=ChainSettings(n_chains=int(chains or 0), min_turns=int(min_turns or 2),
                                            max_turns=int(max_turns or 2)))
        extra = _json_fields(spec_json)
        merged = {**spec.model_dump(), **extra,
                  "prices": {**(prices or {}), **extra.get("prices", {})}}
        return JobSpec.model_validate(merged)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError: say which field
        raise gr.Error(f"invalid job settings: {exc}") from None


# ------------------------------------------------------------------------------------------ formatting


def _pct(view: JobView) -> str:
    if not view.total:
        return f"{view.done:,} / ?"
    return f"{view.done:,} / {view.total:,} ({100 * view.done / view.total:.0f}%)"


def jobs_frame(views: list[JobView]) -> pd.DataFrame:
    rows = [[v.id, v.state, _pct(v), v.failed, "" if v.kept is None else v.kept,
             "" if v.rate_per_min is None else f"{v.rate_per_min:.1f}",
             "" if v.heartbeat_age_s is None else _ago(v.heartbeat_age_s), v.created_at[:19].replace("T", " "),
             v.created_by or "", v.message or ""] for v in views]
    return pd.DataFrame(rows, columns=JOB_COLUMNS)


def _ago(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s ago"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def job_line(view: JobView | None) -> str:
    if view is None:
        return "Select a job in the table (click its row)."
    parts = [f"**Job {view.id}: {view.state}**", _pct(view), f"{view.failed:,} failed"]
    if view.rate_per_min is not None:
        parts.append(f"{view.rate_per_min:.1f} items/min")
    if view.heartbeat_age_s is not None:
        parts.append(f"heartbeat {_ago(view.heartbeat_age_s)}")
    line = " · ".join(parts)
    if view.message:
        line += f"  \n{html.escape(view.message)}"  # an error text may quote a service: never HTML
    return line


def estimate_text(result) -> str:
    c = result.cost
    lines = [f"**Plan:** {result.items:,} items (source × edit type) from {result.sources:,} sources.",
             f"**Attempts:** {c.attempts_min:,} min · {c.attempts_expected:,} expected · {c.attempts_max:,} max.",
             (f"**Cost:** ${c.usd_min:.4f} min · ${c.usd_expected:.4f} expected · ${c.usd_max:.4f} max "
             f"(${c.usd_per_attempt:.4f} per attempt; `local` and `fake` are free).")]
    if result.missing_sources:
        shown = ", ".join(map(str, result.missing_sources[:20]))
        lines.append(f"⚠ {len(result.missing_sources):,} source ids are unknown or have no image: {shown}")
    if result.shortfall:
        lines.append(f"⚠ {result.shortfall:,} items could not be placed (not enough distinct sources).")
    if not result.items:
        lines.append("⚠ Nothing to do: choose sources with images and edit types.")
    return "  \n".join(lines)


def ingest_text(report: IngestReport) -> str:
    lines = [(f"{report.accepted} added, {report.already} already in the workspace, "
             f"{len(report.rejected)} refused.")]
    lines += [f"refused {r.path}: {r.kind} ({r.detail})" for r in report.rejected]
    return "\n".join(lines)


def failures_frame(groups) -> pd.DataFrame:
    rows = [[g.status, g.reason, g.count,
             ", ".join(str(e.attempt_id) if e.attempt_id is not None else f"edit {e.edit_id}" for e in g.examples),
             "; ".join(dict.fromkeys(e.edit_type for e in g.examples)),
             ", ".join(str(s) for s in dict.fromkeys(e.source_id for e in g.examples))] for g in groups]
    return pd.DataFrame(rows, columns=FAILURE_COLUMNS)


def _merge_ids(existing: str, new: list[int]) -> str:
    return ", ".join(map(str, dict.fromkeys([*parse_ids(existing), *new])))


def _policy_choices(store) -> list[str]:
    return [ACTIVE_POLICY, *(f"{p.name}@{p.version}" for p in list_policies(store))]


# ------------------------------------------------------------------------------------------ the tab


def build(ctx, tabs=None) -> None:
    workers = JobWorkers(ctx.workspace)
    board = JobBoard(workers, RateMeter())  # one per studio: shared by every tab polling it
    store = ctx.store

    gr.Markdown("Make new edits with the pipeline: **sources** × **edit types** × **backends**, judged and kept "
                "by the policy. Jobs run in the background and keep running when you close the page.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            with gr.Accordion("1 · Sources", open=True):
                source_ids = gr.Textbox("", label="Source ids", placeholder="e.g. 1, 4, 10-20 (empty: every source "
                                        "with an image)", elem_id="pb-gen-sources")
                with gr.Tab("Existing sources"):
                    with gr.Row():
                        search = gr.Textbox("", label="Search (id, or part of the URI)", scale=4,
                                            elem_id="pb-gen-source-search")
                        search_btn = gr.Button("Search", scale=1)
                    found = gr.Dataframe(headers=SOURCE_COLUMNS, interactive=False, max_height=260,
                                         label="Matching sources (first 50 by id; refine the search for more)",
                                         elem_id="pb-gen-found")
                    add_shown_btn = gr.Button("Use the sources shown", size="sm")
                with gr.Tab("Upload"):
                    uploads = gr.File(label="Photos", file_count="multiple", type="filepath",
                                      elem_id="pb-gen-upload")
                    upload_btn = gr.Button("Add uploaded photos", size="sm", elem_id="pb-gen-upload-add")
                with gr.Tab("Folder on the server"):
                    folder = gr.Textbox("", label="Folder", placeholder="/data/photos (read recursively)")
                    folder_btn = gr.Button("Add the folder's photos", size="sm")
                license_box = gr.Textbox("", label="License of added photos (optional)", placeholder="CC-BY-4.0")
                ingest_report = gr.Textbox(label="Added photos", lines=3, interactive=False,
                                           elem_id="pb-gen-ingest-report")
            with gr.Accordion("2 · Edit types", open=True):
                mix_kind = gr.Radio(MIX_KINDS, value="each", label="Mix", elem_id="pb-gen-mix")
                types = gr.CheckboxGroup(TYPE_CHOICES, label="Edit types (none chosen: all 35; the local backend "
                                         "does 13 of them)", elem_id="pb-gen-types")
                categories = gr.CheckboxGroup(CATEGORY_CHOICES, label="Categories (for the categories mix)",
                                              elem_id="pb-gen-categories")
                with gr.Row():
                    per_count = gr.Number(10, label="N (counts / categories mix)", precision=0, minimum=0)
                    total = gr.Number(100, label="Total (release mix)", precision=0, minimum=0)
            with gr.Accordion("3 · Backends and limits", open=True):
                with gr.Row():
                    role_boxes = [gr.Dropdown(backend_names(role), value="local", label=role,
                                              elem_id=f"pb-gen-backend-{role}") for role in ROLES]
                with gr.Row():
                    attempts = gr.Slider(1, 10, value=3, step=1, label="Attempts per edit", elem_id="pb-gen-attempts")
                    concurrency = gr.Number(4, label="Concurrency (calls in flight per role)", precision=0,
                                            minimum=1, maximum=1024)
                with gr.Row():
                    chains = gr.Number(0, label="Multi-turn chains", precision=0, minimum=0)
                    min_turns = gr.Slider(2, 5, value=2, step=1, label="Min turns")
                    max_turns = gr.Slider(2, 5, value=5, step=1, label="Max turns")
                with gr.Row():
                    policy = gr.Dropdown([ACTIVE_POLICY], value=ACTIVE_POLICY, label="Policy (decides keep/retry)")
                    seed = gr.Number(0, label="Seed", precision=0)
                with gr.Accordion("Advanced: backend options, role and job settings (JSON)", open=False):
                    options_json = gr.Code("{}", language="json", label='Backend options per role, e.g. '
                                           '{"all": {"timeout_s": 60}, "editor": {"preset": "paper"}}')
                    roles_json = gr.Code("{}", language="json", label='Role settings, e.g. {"editor": {"rpm": 60, '
                                         '"expected_images": 1}, "judge": {"expected_input_tokens": 1500}}')
                    spec_json = gr.Code("{}", language="json", label='Other job settings (JobSpec fields), e.g. '
                                        '{"batch": {"roles": ["editor", "judge"]}, "call_retries": 5}')
            with gr.Row():
                estimate_btn = gr.Button("Estimate cost", elem_id="pb-gen-estimate")
                start_btn = gr.Button("Start job", variant="primary", elem_id="pb-gen-start")
            estimate_md = gr.Markdown(elem_id="pb-gen-estimate-result")
            start_md = gr.Markdown(elem_id="pb-gen-start-result")
        with gr.Column(scale=4):
            gr.Markdown("### Jobs")
            jobs_df = gr.Dataframe(value=pd.DataFrame(columns=JOB_COLUMNS), interactive=False, max_height=420,
                                   label="Jobs (newest first; click a row to select it)", elem_id="pb-jobs")
            with gr.Row():
                job_id = gr.Number(label="Selected job", precision=0, elem_id="pb-gen-job-id", scale=1)
                refresh_btn = gr.Button("Refresh", size="sm", elem_id="pb-gen-refresh", scale=1)
                cancel_btn = gr.Button("Cancel job", size="sm", variant="stop", elem_id="pb-gen-cancel", scale=1)
                resume_btn = gr.Button("Resume job", size="sm", elem_id="pb-gen-resume", scale=1)
            job_md = gr.Markdown(job_line(None), elem_id="pb-gen-job-line")
            failures_btn = gr.Button("Show failures of the selected job", size="sm", elem_id="pb-gen-failures-btn")
            failures_df = gr.Dataframe(value=pd.DataFrame(columns=FAILURE_COLUMNS), interactive=False,
                                       max_height=360, wrap=True, label="Failures by reason",
                                       elem_id="pb-gen-failures")
            timer = gr.Timer(POLL_S, active=False)
            watch = gr.Timer(WATCH_S)

    form = [source_ids, mix_kind, types, categories, per_count, total, *role_boxes, options_json, roles_json,
            attempts, concurrency, chains, min_turns, max_turns, policy, seed, spec_json]

    def _spec(*values) -> JobSpec:
        return build_spec(*values, prices=ctx.settings.prices)

    def _call(fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except PicobananaError as exc:
            raise gr.Error(str(exc)) from None

    # -- sources ------------------------------------------------------------------------------------

    def search_sources(text: str):
        rows = _call(find_sources, store(), text or "")
        return pd.DataFrame([[r.id, r.uri, r.origin, r.license or ""] for r in rows], columns=SOURCE_COLUMNS)

    def use_shown(shown: pd.DataFrame, current: str) -> str:
        ids = [int(x) for x in shown["id"].tolist()] if shown is not None and len(shown) else []
        return _merge_ids(current, ids)

    def upload_sources(files: list[str] | None, license: str, current: str, progress=gr.Progress()):  # noqa: B008 - Gradio's idiom
        if not files:
            raise gr.Error("choose photos to upload first")
        named = ((Path(p).name, Path(p).read_bytes()) for p in progress.tqdm(files, desc="checking photos"))
        report = _call(add_uploads, store(), named, license=license or None)
        return ingest_text(report), _merge_ids(current, report.source_ids)

    def folder_sources(path: str, license: str, current: str, progress=gr.Progress()):  # noqa: B008 - Gradio's idiom
        if not (path or "").strip():
            raise gr.Error("type a folder path on the server")
        seen = [0]

        def tick(_path) -> None:
            seen[0] += 1
            progress(None, desc=f"{seen[0]:,} files checked")

        report = _call(add_folder, store(), path.strip(), license=license or None, progress=tick)
        return ingest_text(report), _merge_ids(current, report.source_ids)

    search_btn.click(search_sources, [search], [found], api_name="sources_search")
    search.submit(search_sources, [search], [found], api_visibility="private")
    add_shown_btn.click(use_shown, [found, source_ids], [source_ids], api_visibility="private")
    upload_btn.click(upload_sources, [uploads, license_box, source_ids], [ingest_report, source_ids],
                     api_name="sources_upload")
    folder_btn.click(folder_sources, [folder, license_box, source_ids], [ingest_report, source_ids],
                     api_name="sources_folder")

    # -- estimate and start -------------------------------------------------------------------------

    # Explicit parameters (not *values): they are the API's parameter names for gradio_client users.
    def generate_estimate(source_ids, mix_kind, types, categories, per_count, total, writer, rewriter, editor,
                          judge, options_json, roles_json, attempts, concurrency, chains, min_turns, max_turns,
                          policy, seed, spec_json) -> str:
        spec = _spec(source_ids, mix_kind, types, categories, per_count, total, writer, rewriter, editor, judge,
                     options_json, roles_json, attempts, concurrency, chains, min_turns, max_turns, policy, seed,
                     spec_json)
        return estimate_text(_call(estimate_job, store(), spec))

    def generate_start(source_ids, mix_kind, types, categories, per_count, total, writer, rewriter, editor,
                       judge, options_json, roles_json, attempts, concurrency, chains, min_turns, max_turns,
                       policy, seed, spec_json, request: gr.Request):
        spec = _spec(source_ids, mix_kind, types, categories, per_count, total, writer, rewriter, editor, judge,
                     options_json, roles_json, attempts, concurrency, chains, min_turns, max_turns, policy, seed,
                     spec_json)
        started = _call(start_job, store(), workers, spec, created_by=ctx.curator(request))
        return f"Started job **{started}** in the background.", started

    # -- jobs ---------------------------------------------------------------------------------------

    def _views() -> list[JobView]:
        return board.views(store())

    def _selected(views: list[JobView], selected) -> JobView | None:
        return next((v for v in views if selected is not None and v.id == int(selected)), None)

    def jobs_list() -> pd.DataFrame:
        return jobs_frame(_views())

    def poll(selected):
        views = _views()
        active = any(v.active for v in views)
        return jobs_frame(views), job_line(_selected(views, selected)), gr.Timer(active=active)

    def watch_tick(selected):
        views = _views()
        if not any(v.active for v in views):
            return gr.skip(), gr.skip(), gr.skip()
        return jobs_frame(views), job_line(_selected(views, selected)), gr.Timer(active=True)

    def select_job(evt: gr.SelectData):
        return int(evt.row_value[0]) if evt.row_value else None  # the row's first column is the job id

    def _require(selected) -> int:
        if selected is None:
            raise gr.Error("select a job first (click its row in the table)")
        return int(selected)

    def job_cancel(job_id) -> str:
        jid = _require(job_id)
        status = _call(cancel_job, store(), workers, jid)
        return f"Job {jid}: {status} (items in flight finish first)."

    def job_resume(job_id) -> str:
        jid = _require(job_id)
        _call(resume_job, store(), workers, jid)
        return f"Job {jid} is resuming: finished attempts are kept, interrupted ones redone."

    def job_failures_table(job_id) -> pd.DataFrame:
        return failures_frame(_call(job_failures, store(), _require(job_id)))

    def on_load():
        policies = _policy_choices(store())
        frame, line, timer_update = poll(None)
        return frame, line, timer_update, gr.Dropdown(choices=policies)

    estimate_btn.click(generate_estimate, form, [estimate_md], api_name="generate_estimate")
    start_btn.click(generate_start, form, [start_md, job_id], api_name="generate_start").success(
        poll, [job_id], [jobs_df, job_md, timer], api_visibility="private")
    refresh_btn.click(jobs_list, None, [jobs_df], api_name="jobs_list").then(
        poll, [job_id], [jobs_df, job_md, timer], api_visibility="private")
    timer.tick(poll, [job_id], [jobs_df, job_md, timer], api_visibility="private", show_progress="hidden")
    watch.tick(watch_tick, [job_id], [jobs_df, job_md, timer], api_visibility="private", show_progress="hidden")
    jobs_df.select(select_job, None, [job_id], api_visibility="private").then(
        poll, [job_id], [jobs_df, job_md, timer], api_visibility="private").then(
        job_failures_table, [job_id], [failures_df], api_visibility="private")
    cancel_btn.click(job_cancel, [job_id], [start_md], api_name="job_cancel").then(
        poll, [job_id], [jobs_df, job_md, timer], api_visibility="private")
    resume_btn.click(job_resume, [job_id], [start_md], api_name="job_resume").success(
        poll, [job_id], [jobs_df, job_md, timer], api_visibility="private")
    failures_btn.click(job_failures_table, [job_id], [failures_df], api_name="job_failures")
    gr.on(triggers=None, fn=on_load, inputs=None, outputs=[jobs_df, job_md, timer, policy],
          api_visibility="private", show_progress="hidden")
