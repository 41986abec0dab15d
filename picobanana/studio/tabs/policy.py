"""The Policy tab: weights and threshold sliders (global or per category) with live keep / fail / borderline
counts and their change against the active policy; save as a named, versioned policy; preview and activate.

The callbacks parse widgets, call `picobanana.curation.tuning` (counts, drafts, save, activate) and format what
it returns. The draft lives in the page as JSON (`Draft`), so every endpoint is stateless and scriptable.
"""

from __future__ import annotations

import html

import gradio as gr
import pandas as pd

from picobanana.curation.tuning import (
    DEFAULT_MARGIN,
    Draft,
    PolicyCounts,
    activate,
    activation_preview,
    live_mirror,
    policy_counts,
    save_draft,
)
from picobanana.errors import StoreError
from picobanana.store import active_policy, get_policy, list_policies
from picobanana.taxonomy import CATEGORIES

GLOBAL = "global"
SCOPES = [("All categories (global)", GLOBAL)] + [(c.name, str(c.id)) for c in CATEGORIES]
SLIDERS = (("compliance", "Instruction compliance"), ("seamlessness", "Seamlessness"),
           ("preservation", "Preservation balance"), ("quality", "Technical quality"))
COLUMNS = ["Category", "Attempts", "Keep", "Δ keep", "Fail", "Δ fail", "Borderline", "Δ borderline",
           "fail → keep", "keep → fail", "Pending"]


def _scope_id(scope: str | None) -> int | None:
    return None if scope in (None, "", GLOBAL) else int(scope)


def _draft(value) -> Draft:
    """The draft JSON from the page (None or {} → the paper defaults)."""
    try:
        return Draft.model_validate(value or {})
    except ValueError as exc:
        raise gr.Error(f"the draft policy is not valid: {exc}") from exc


def _draft_json(draft: Draft) -> dict:
    return draft.model_dump(mode="json")


def _signed(n: int) -> str:
    return f"{n:+,}" if n else "0"


def _counts_outputs(counts: PolicyCounts):
    """(summary markdown, table, chart) for one PolicyCounts."""
    t = counts.total
    summary = (
        f"**Under this draft** (single-turn attempts; human decisions always win): "
        f"keep **{t.keep:,}** ({_signed(t.delta_keep)}) · "
        f"fail **{t.fail:,}** ({_signed(t.delta_fail)}) · borderline **{t.borderline:,}** "
        f"({_signed(t.delta_borderline)}, within ±{counts.margin:g} of the threshold) · pending {t.pending:,}  \n"
        f"Against the active policy **{html.escape(counts.compared_to)}**: {t.to_keep:,} attempts would flip to "
        f"keep and {t.to_fail:,} to fail. <small>({counts.milliseconds:.0f} ms, revision {counts.revision})</small>"
    )
    rows = [[r.category, r.attempts, r.keep, _signed(r.delta_keep), r.fail, _signed(r.delta_fail), r.borderline,
             _signed(r.delta_borderline), r.to_keep, r.to_fail, r.pending] for r in counts.rows + [t]]
    table = pd.DataFrame(rows, columns=COLUMNS)
    # Stacked bars add up to the category's attempts; borderline (a part of keep and fail) is in the table.
    chart = pd.DataFrame([{"category": r.category, "verdict": verdict, "attempts": getattr(r, verdict)}
                          for r in counts.rows for verdict in ("keep", "fail", "pending")])
    return summary, table, chart


def _policy_choices(store) -> tuple[list[tuple[str, str]], str | None]:
    try:
        active = active_policy(store)
    except StoreError:
        active = None
    choices = []
    for p in sorted(list_policies(store), key=lambda p: (p.name, -p.version)):
        label = f"{p.name}@{p.version}" + ("  (active)" if active and p.id == active.id else "")
        choices.append((label, f"{p.name}@{p.version}"))
    return choices, f"{active.name}@{active.version}" if active else None


def build(ctx, tabs=None) -> None:
    def live():
        return live_mirror(ctx.workspace)

    gr.Markdown(
        "Move a slider to see, live, how many single-turn attempts each category would keep, fail or leave "
        "borderline under these weights and threshold, and what changes against the active policy. Weights are "
        "normalised to sum 1; keep ⇔ weighted score ≥ threshold. Choose a category as the scope to give it its "
        "own weights or threshold. Human decisions always win. Nothing changes until you save and activate.")
    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            scope = gr.Dropdown(SCOPES, value=GLOBAL, label="Scope", elem_id="policy-scope",
                                info="the sliders edit this scope: every category, or one category's exception")
            sliders = [gr.Slider(0, 1, value=value, step=0.01, label=label, elem_id=f"policy-{name}")
                       for (name, label), value in zip(SLIDERS, Draft().sliders(), strict=False)]
            threshold = gr.Slider(0, 1, value=0.7, step=0.01, label="Threshold (keep ⇔ score ≥ threshold)",
                                  elem_id="policy-threshold")
            margin = gr.Slider(0.01, 0.2, value=DEFAULT_MARGIN, step=0.01, label="Borderline margin",
                               elem_id="policy-margin", info="borderline = judged, no human decision, score "
                               "within this of the threshold")
            clear_category = gr.Button("Use the global values for this category", size="sm",
                                       elem_id="policy-clear-category")
            draft_box = gr.JSON(value=_draft_json(Draft()), label="Draft policy (weights, threshold, category "
                                "exceptions)", elem_id="policy-draft", open=False)
        with gr.Column(scale=2):
            summary = gr.Markdown(elem_id="policy-summary")
            table = gr.Dataframe(headers=COLUMNS, label="Counts per category under the draft",
                                 elem_id="policy-counts", interactive=False, max_height=420)
            chart = gr.BarPlot(x="category", y="attempts", color="verdict", label="Keep / fail / pending under the draft",
                               elem_id="policy-chart", x_label_angle=-25, height=260,
                               color_map={"keep": "#2e7d32", "fail": "#c62828", "pending": "#9e9e9e"})
    with gr.Row():
        name = gr.Textbox(label="Policy name", placeholder="e.g. strict", elem_id="policy-name", scale=2)
        note = gr.Textbox(label="Note (optional)", elem_id="policy-note", scale=3)
        with gr.Column(scale=1, min_width=200):
            save = gr.Button("Save as a new version", variant="primary", elem_id="policy-save")
    save_message = gr.Markdown(elem_id="policy-save-message")
    with gr.Row():
        saved = gr.Dropdown([], label="Saved policies", elem_id="policy-saved", scale=3,
                            info="choose one to see what activating it would change")
        with gr.Column(scale=1, min_width=200):
            load = gr.Button("Load into the sliders", elem_id="policy-load")
            activate_button = gr.Button("Activate", variant="stop", elem_id="policy-activate")
    preview = gr.Markdown(elem_id="policy-preview")
    preview_table = gr.Dataframe(headers=COLUMNS, label="What activation would change", interactive=False,
                                 elem_id="policy-preview-table", max_height=360)
    activate_message = gr.Markdown(elem_id="policy-activate-message")

    slider_values = [*sliders, threshold]
    counts_outputs = [draft_box, summary, table, chart]

    # -- callbacks: parse → core → format ----------------------------------------------------------

    def counts_fn(compliance, seamlessness, preservation, quality, threshold_value, scope_value, draft_value,
                  margin_value=DEFAULT_MARGIN):
        """Set the scope's sliders in the draft; counts under the draft and the delta against the active."""
        try:
            draft = _draft(draft_value).with_sliders(
                _scope_id(scope_value), (compliance, seamlessness, preservation, quality, threshold_value))
        except ValueError as exc:
            raise gr.Error(str(exc)) from exc
        counts = policy_counts(live(), draft.policy(), margin=float(margin_value))
        return (_draft_json(draft), *_counts_outputs(counts))

    def scope_fn(scope_value, draft_value):
        """The slider values of the chosen scope."""
        return _draft(draft_value).sliders(_scope_id(scope_value))

    def clear_fn(scope_value, draft_value, margin_value=DEFAULT_MARGIN):
        draft = _draft(draft_value)
        category = _scope_id(scope_value)
        if category is not None:
            draft = draft.without_category(category)
        counts = policy_counts(live(), draft.policy(), margin=float(margin_value))
        return (*draft.sliders(category), _draft_json(draft), *_counts_outputs(counts))

    def init_fn(margin_value=DEFAULT_MARGIN):
        """On page load: the active policy in the sliders, the saved policies listed, counts."""
        store = ctx.store()
        draft = Draft.from_policy(active_policy(store))
        choices, active = _policy_choices(store)
        counts = policy_counts(live(), draft.policy(), margin=float(margin_value))
        return (GLOBAL, *draft.sliders(), _draft_json(draft), *_counts_outputs(counts)[0:3],
                gr.Dropdown(choices=choices, value=active))

    def refresh_fn(draft_value, saved_value, margin_value=DEFAULT_MARGIN):
        """When the tab is shown again: same draft, fresh counts (others may have decided) and saved list."""
        choices, active = _policy_choices(ctx.store())
        counts = policy_counts(live(), _draft(draft_value).policy(), margin=float(margin_value))
        keep = saved_value if saved_value in {v for _, v in choices} else active
        return (*_counts_outputs(counts), gr.Dropdown(choices=choices, value=keep))

    def save_fn(name_value, note_value, draft_value, request: gr.Request = None):
        store = ctx.store()
        try:
            policy = save_draft(store, _draft(draft_value), name_value, curator=ctx.curator(request),
                                note=note_value)
        except StoreError as exc:
            raise gr.Error(str(exc)) from exc
        choices, _ = _policy_choices(store)
        ref = f"{policy.name}@{policy.version}"
        message = (f"Saved **{html.escape(ref)}** (by {html.escape(ctx.curator(request))}). "
                   "It is not active yet: choose it below to see what activating it would change.")
        return message, gr.Dropdown(choices=choices, value=ref)

    def preview_fn(ref, margin_value=DEFAULT_MARGIN):
        if not ref:
            return "", None
        try:
            counts = activation_preview(live(), ctx.store(), ref, margin=float(margin_value))
        except StoreError as exc:
            raise gr.Error(str(exc)) from exc
        t = counts.total
        if counts.compared_to == ref:
            return f"**{html.escape(ref)}** is the active policy.", None
        text = (f"Activating **{html.escape(ref)}** instead of **{html.escape(counts.compared_to)}** would change "
                f"{t.changed:,} verdicts: keep {t.keep:,} ({_signed(t.delta_keep)}), fail {t.fail:,} "
                f"({_signed(t.delta_fail)}); {t.to_keep:,} fail → keep, {t.to_fail:,} keep → fail. "
                "Human decisions stay as they are.")
        return text, _counts_outputs(counts)[1]

    def activate_fn(ref, request: gr.Request = None):
        if not ref:
            raise gr.Error("choose a saved policy to activate")
        store = ctx.store()
        try:
            policy = activate(store, ref, curator=ctx.curator(request))
        except StoreError as exc:
            raise gr.Error(str(exc)) from exc
        choices, active = _policy_choices(store)
        message = (f"**{html.escape(policy.name)}@{policy.version}** is now the active policy "
                   f"(activated by {html.escape(ctx.curator(request))}).")
        # The dropdown keeps its value, so its change event does not fire: replace the stale preview here.
        now_active = f"**{html.escape(active or '')}** is the active policy."
        return message, gr.Dropdown(choices=choices, value=active), now_active, None

    def load_fn(ref):
        if not ref:
            raise gr.Error("choose a saved policy to load")
        try:
            draft = Draft.from_policy(get_policy(ctx.store(), ref))
        except StoreError as exc:
            raise gr.Error(str(exc)) from exc
        return (GLOBAL, *draft.sliders(), _draft_json(draft), ref.rpartition("@")[0])

    # -- events ------------------------------------------------------------------------------------

    # One listener for every slider: with always_last, a fast drag runs the latest position, not a queue of
    # stale ones.
    gr.on([s.input for s in slider_values] + [margin.input], counts_fn,
          inputs=[*slider_values, scope, draft_box, margin], outputs=counts_outputs,
          trigger_mode="always_last", show_progress="hidden", api_name="policy_counts")
    scope.input(scope_fn, inputs=[scope, draft_box], outputs=slider_values, api_name="policy_scope",
                show_progress="hidden")
    clear_category.click(clear_fn, inputs=[scope, draft_box, margin], outputs=[*slider_values, *counts_outputs],
                         api_name="policy_clear_category")
    save.click(save_fn, inputs=[name, note, draft_box], outputs=[save_message, saved], api_name="policy_save")
    saved.change(preview_fn, inputs=[saved, margin], outputs=[preview, preview_table], api_name="policy_preview",
                 show_progress="hidden")
    activate_button.click(activate_fn, inputs=[saved], outputs=[activate_message, saved, preview, preview_table],
                          api_name="policy_activate").then(
        refresh_fn, inputs=[draft_box, saved, margin], outputs=[summary, table, chart, saved],
        api_visibility="private")
    load.click(load_fn, inputs=[saved], outputs=[scope, *slider_values, draft_box, name],
               api_name="policy_load").then(
        counts_fn, inputs=[*slider_values, scope, draft_box, margin], outputs=counts_outputs,
        api_visibility="private")

    root = gr.context.Context.root_block
    if root is not None:
        root.load(init_fn, inputs=[margin], outputs=[scope, *slider_values, draft_box, summary, table, chart,
                                                    saved], api_name="policy_init")
    tab = gr.context.Context.block
    if isinstance(tab, gr.Tab):
        tab.select(refresh_fn, inputs=[draft_box, saved, margin], outputs=[summary, table, chart, saved],
                   api_name="policy_refresh", show_progress="hidden")
