"""The Review queue tab: borderline attempts nearest the threshold first, decided with K / F / S.

Core: `picobanana.curation.queue` (queue_view, decide, preview_apply_all, apply_all, undo_apply_all); the item
is shown by the shared item panel (`studio/item_panel.py`). Every decision auto-advances to the next borderline
attempt; Skip (S) moves on without deciding (the attempt stays in the queue for other sessions); ← goes back
to the item shown before, → is Skip.

API endpoints: `/queue_next`, `/queue_decide`, `/queue_apply_all_preview`, `/queue_apply_all`,
`/queue_undo_batch`. The session (its start, skipped and previously shown attempts) is a gr.State, so a
gradio_client Client keeps its own session like a browser tab does.
"""

from __future__ import annotations

import html
from typing import Any

import gradio as gr
from gradio.context import Context

from picobanana.curation.queue import (
    DEFAULT_MARGIN,
    QueueChanged,
    QueueFilter,
    QueueItem,
    QueueView,
    apply_all,
    decide,
    preview_apply_all,
    progress,
    queue_view,
    undo_apply_all,
)
from picobanana.errors import PicobananaError, ReviewConflict
from picobanana.store.db import utc_now
from picobanana.studio.item_panel import build_item_panel
from picobanana.taxonomy import CATEGORIES, EDIT_TYPES

ALL = "All"
CATEGORY_CHOICES = [ALL] + [c.name for c in CATEGORIES]
EDIT_TYPE_CHOICES = [ALL] + [t.name for t in EDIT_TYPES]
_CATEGORY_IDS = {c.name: c.id for c in CATEGORIES}
_EDIT_TYPE_IDS = {t.name: t.id for t in EDIT_TYPES}
HISTORY = 50  # items a curator can step back through with ←


def new_session() -> dict[str, Any]:
    return {"since": None, "skipped": [], "history": []}


def queue_filter(category: str | None, edit_type: str | None, margin: float | None) -> QueueFilter:
    """The widgets' values as a filter (unknown names are an error, not a silent "all")."""
    def pick(name, table, what):
        if name in (None, "", ALL):
            return None
        if name not in table:
            raise PicobananaError(f"unknown {what} {name!r}")
        return table[name]

    return QueueFilter(category_id=pick(category, _CATEGORY_IDS, "category"),
                       edit_type_id=pick(edit_type, _EDIT_TYPE_IDS, "edit type"),
                       margin=float(margin) if margin else DEFAULT_MARGIN)


def _started(session: dict | None) -> dict:
    session = dict(session or new_session())
    session["since"] = session.get("since") or utc_now()
    session.setdefault("skipped", [])
    session.setdefault("history", [])
    return session


def _item_line(item: QueueItem | None, view: QueueView) -> str:
    if item is None:
        return (f"🎉 **The queue is empty** under this filter (margin ±{view.filter.margin:.3f}, policy "
                f"`{html.escape(view.policy)}`). Widen the margin or change the filter.")
    side = "keeps" if item.judge_verdict == "keep" else "fails"
    return (f"**Borderline**: score {item.score:.3f} vs threshold {item.threshold:.2f} "
            f"(distance {item.distance:.3f}) — the policy `{html.escape(view.policy)}` {side} it.")


def _current(item: QueueItem | None) -> dict | None:
    return item.model_dump() if item is not None else None


def build(ctx, tabs=None) -> None:
    gr.Markdown("Borderline attempts — judged, not yet decided by a curator, with a weighted score within the "
                "margin of the threshold — **nearest the threshold first**. **K** keep · **F** fail · "
                "**S** skip (next) · **←** back · **?** help. Each decision moves on to the next one.")
    with gr.Row():
        category = gr.Dropdown(CATEGORY_CHOICES, value=ALL, label="Category", elem_id="review-category")
        edit_type = gr.Dropdown(EDIT_TYPE_CHOICES, value=ALL, label="Edit type", elem_id="review-edit-type")
        margin = gr.Slider(0.005, 0.25, value=DEFAULT_MARGIN, step=0.005, label="Margin (± around the threshold)",
                           elem_id="review-margin")
        refresh = gr.Button("↻ Next borderline", elem_id="review-refresh", size="sm", scale=0)
    progress_line = gr.Markdown(elem_id="review-progress")
    item_line = gr.Markdown(elem_id="review-item-line")
    panel = build_item_panel(ctx, elem_prefix="review-item")
    current = gr.JSON(visible=False, elem_id="review-current")  # the queue item shown (for the API)
    session = gr.State(new_session())
    verdict = gr.Textbox(visible=False, elem_id="review-verdict")
    decide_hidden = gr.Button(visible=False, elem_id="review-decide")
    with gr.Accordion("Apply to all in the current filter", open=False, elem_id="review-apply"):
        gr.Markdown("Decide **every** borderline attempt of the current category / edit type / margin at once. "
                    "It is recorded as one batch under your name and can be undone (later decisions stay).")
        with gr.Row():
            apply_verdict = gr.Radio(["keep", "fail"], value="keep", label="Decision", elem_id="review-apply-verdict")
            apply_reason = gr.Textbox(label="Reason (optional)", elem_id="review-apply-reason")
        with gr.Row():
            preview_btn = gr.Button("Preview count", elem_id="review-apply-preview")
            confirm_btn = gr.Button("Confirm", variant="stop", visible=False, elem_id="review-apply-confirm")
            undo_btn = gr.Button("Undo last batch", visible=False, elem_id="review-apply-undo")
        apply_message = gr.Markdown(elem_id="review-apply-message")
        preview_count = gr.Number(visible=False, precision=0, elem_id="review-apply-count")
        last_batch = gr.Textbox(visible=False, elem_id="review-apply-batch")

    queue_outputs = [*panel.outputs, progress_line, item_line, current, session]

    def show(view: QueueView, session: dict, message: str = "") -> list:
        item = view.item
        if item is not None:
            history = [i for i in session["history"] if i != item.attempt_id][-HISTORY:]
            session = {**session, "history": [*history, item.attempt_id]}
        panel_values = panel.render(item.attempt_id if item else None, message)
        return [*panel_values, html.escape(view.progress.line()), _item_line(item, view), _current(item), session]

    def stay(attempt_id: int, message: str, flt: QueueFilter, session: dict, request: gr.Request) -> list:
        """Show a given attempt (not the queue's next one), with the curator's progress."""
        line = progress(ctx.store(), ctx.curator(request), flt, since=session["since"]).line()
        return [*panel.render(attempt_id, message), html.escape(line), "", {"attempt_id": attempt_id}, session]

    def next_item(category: str, edit_type: str, margin: float, session: dict, request: gr.Request) -> list:
        session = _started(session)
        try:
            flt = queue_filter(category, edit_type, margin)
        except PicobananaError as exc:
            return [*panel.render(None, f"⚠️ {html.escape(str(exc))}"), gr.update(), gr.update(), None, session]
        view = queue_view(ctx.store(), flt, curator=ctx.curator(request), since=session["since"],
                          skipped=tuple(session["skipped"]))
        return show(view, session)

    def decide_item(decision: str, attempt_id, reason: str, expected_review_id, category: str, edit_type: str,
                    margin: float, session: dict, request: gr.Request) -> list:
        session = _started(session)
        if attempt_id in (None, ""):
            return next_item(category, edit_type, margin, session, request)
        try:
            flt = queue_filter(category, edit_type, margin)
        except PicobananaError as exc:
            return [*panel.render(int(attempt_id), f"⚠️ {html.escape(str(exc))}"), gr.update(), gr.update(),
                    None, session]
        expected = None if expected_review_id in (None, "") else int(expected_review_id)
        try:
            step = decide(ctx.store(), int(attempt_id), decision, curator=ctx.curator(request),
                          expected_review_id=expected, flt=flt, since=session["since"],
                          skipped=tuple(session["skipped"]), reason=reason)
        except ReviewConflict as exc:
            # The same attempt again, now with the other curator's decision in its audit history.
            return stay(int(attempt_id), f"⛔ **{html.escape(str(exc))}**", flt, session, request)
        except (PicobananaError, ValueError) as exc:
            return stay(int(attempt_id), f"⚠️ {html.escape(str(exc))}", flt, session, request)
        session = {**session, "skipped": list(step.skipped)}
        if step.decided is None:
            message = f"⏭ Skipped attempt {int(attempt_id)}."
        else:
            message = f"✅ Attempt {int(attempt_id)}: **{step.decided.new_verdict}** (by {html.escape(step.decided.curator)})."
        return show(step.view, session, message)

    def back(category: str, edit_type: str, margin: float, session: dict, request: gr.Request) -> list:
        """← : the item shown before this one (to look again, or change the decision just made)."""
        session = _started(session)
        history = list(session["history"])
        if len(history) < 2:
            return next_item(category, edit_type, margin, session, request)
        history.pop()
        session = {**session, "history": history}
        return stay(history[-1], "↩ Back to an item you saw before.", queue_filter(category, edit_type, margin),
                    session, request)

    def preview(category: str, edit_type: str, margin: float):
        try:
            found = preview_apply_all(ctx.store(), queue_filter(category, edit_type, margin))
        except PicobananaError as exc:
            return f"⚠️ {html.escape(str(exc))}", None, gr.update(visible=False)
        if found.count == 0:
            return "Nothing to apply: the queue is empty under this filter.", 0, gr.update(visible=False)
        if not found.allowed:
            refused = (f"{found.count:,} attempts: more than {found.max_items:,} at once is refused — narrow the "
                       "filter or the margin.")
            return refused, found.count, gr.update(visible=False)
        text = (f"**{found.count:,}** borderline attempts in this filter (the policy `{html.escape(found.policy)}` "
                f"keeps {found.judge_keep:,} of them and fails {found.count - found.judge_keep:,}). "
                "Press **Confirm** to decide them all.")
        return text, found.count, gr.update(visible=True, value=f"Confirm: decide all {found.count:,}")

    def apply(verdict_value: str, reason: str, category: str, edit_type: str, margin: float, count,
              session: dict, request: gr.Request):
        if count in (None, ""):
            message, batch = "Preview the count first.", None
        else:
            try:
                result = apply_all(ctx.store(), queue_filter(category, edit_type, margin), verdict_value,
                                   curator=ctx.curator(request), expected_count=int(count), reason=reason)
                message = (f"✅ {result.count:,} attempts marked **{result.verdict}** as one batch "
                           f"(`{result.batch_id[:8]}`). You can undo it.")
                batch = result.batch_id
            except (QueueChanged, ValueError, PicobananaError) as exc:
                message, batch = f"⛔ {html.escape(str(exc))}", None
        values = next_item(category, edit_type, margin, session, request)
        return [message, batch or gr.update(), gr.update(visible=bool(batch)), gr.update(visible=False), None,
                *values]

    def undo(batch_id: str, category: str, edit_type: str, margin: float, session: dict, request: gr.Request):
        if not batch_id:
            message = "No batch to undo."
        else:
            try:
                result = undo_apply_all(ctx.store(), batch_id, curator=ctx.curator(request))
                message = (f"↩ Batch `{batch_id[:8]}` undone: {result.count:,} attempts restored "
                           "(attempts decided again since were left alone).")
            except PicobananaError as exc:
                message = f"⛔ {html.escape(str(exc))}"
        values = next_item(category, edit_type, margin, session, request)
        return [message, "", gr.update(visible=False), *values]

    filters = [category, edit_type, margin]
    decision_inputs = [*panel.decision_inputs, *filters, session]
    refresh.click(next_item, [*filters, session], queue_outputs, api_name="queue_next")
    for trigger in (category.input, edit_type.input, margin.release):
        trigger(next_item, [*filters, session], queue_outputs, api_visibility="private")
    tab = Context.block
    if isinstance(tab, gr.Tab):  # the first item appears when the tab is opened
        tab.select(next_item, [*filters, session], queue_outputs, api_visibility="private")
    decide_hidden.click(decide_item, [verdict, *decision_inputs], queue_outputs, api_name="queue_decide")
    def decider(decision: str):
        # Gradio reads the signature to pass gr.Request: a plain function, not a partial or *args.
        def decide_as(attempt_id, reason: str, expected_review_id, category: str, edit_type: str, margin: float,
                      session: dict, request: gr.Request) -> list:
            return decide_item(decision, attempt_id, reason, expected_review_id, category, edit_type, margin,
                               session, request)
        return decide_as

    decide_keep, decide_fail, decide_skip = decider("keep"), decider("fail"), decider("skip")
    panel.keep.click(decide_keep, decision_inputs, queue_outputs, api_visibility="private")
    panel.fail.click(decide_fail, decision_inputs, queue_outputs, api_visibility="private")
    panel.skip.click(decide_skip, decision_inputs, queue_outputs, api_visibility="private")
    panel.next.click(decide_skip, decision_inputs, queue_outputs, api_visibility="private")
    panel.prev.click(back, [*filters, session], queue_outputs, api_visibility="private")
    preview_btn.click(preview, filters, [apply_message, preview_count, confirm_btn],
                      api_name="queue_apply_all_preview")
    confirm_btn.click(apply, [apply_verdict, apply_reason, *filters, preview_count, session],
                      [apply_message, last_batch, undo_btn, confirm_btn, preview_count, *queue_outputs],
                      api_name="queue_apply_all")
    undo_btn.click(undo, [last_batch, *filters, session], [apply_message, last_batch, undo_btn, *queue_outputs],
                   api_name="queue_undo_batch")
