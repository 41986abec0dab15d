"""The item view: one attempt, everything needed to judge it, and the keep / fail / skip decision.

Reusable by any tab (Browse, Review queue):

    panel = build_item_panel(ctx, elem_prefix="browse-item")      # inside a gr.Column / gr.Blocks context
    some_event(lambda attempt_id: panel.render(attempt_id), inputs=..., outputs=panel.outputs)
    panel.keep.click(panel.decide_keep, inputs=panel.decision_inputs, outputs=panel.outputs)

`render(attempt_id, message="")` returns one value per component of `outputs` (the images, texts, tables,
the hidden attempt id and review id, the message, an emptied reason box). `chain_turn(attempt_id, index)`
maps a click on the chain film strip (`chain.select`) to the attempt of that turn. `decide(verdict, attempt_id,
reason, expected_review_id, request)` records the decision through `curation.items.decide` with the review
id the curator saw, and returns the refreshed panel; a stale decision is refused and the message says who
decided in between, and when. The host tab wires the buttons (`keep`, `fail`, `skip`, `prev`, `next`: they
carry the pb-key-* classes, so K / F / S / ← / → press them) because what "next" means is the host's.

All model-written text (instructions, rationale, reasons, file names) goes into Textbox / Dataframe values or
through html.escape: never rendered as HTML.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from picobanana.curation.diff import ensure_heatmap
from picobanana.curation.items import ItemDetail, decide, load_item
from picobanana.errors import StoreError

SUBSCORE_LABELS = (("compliance", "instruction compliance"), ("seamlessness", "seamlessness"),
                   ("preservation", "preservation balance"), ("quality", "technical quality"))
ATTEMPT_HEADERS = ["", "attempt", "id", "status", "score", "verdict", "decided by", "preference pair", "failure"]
AUDIT_HEADERS = ["review", "when (UTC)", "curator", "from", "to", "reason", "batch"]
SCORE_HEADERS = ["sub-score", "value", "weight", "contribution"]


@dataclass
class ItemPanel:
    elem_prefix: str
    ctx: Any
    header: gr.Markdown = None
    message: gr.Markdown = None
    slider: gr.ImageSlider = None
    before: gr.Image = None
    after: gr.Image = None
    heatmap: gr.Image = None
    instruction: gr.Textbox = None
    short_instruction: gr.Textbox = None
    score_summary: gr.Markdown = None
    scores: gr.Dataframe = None
    rationale: gr.Textbox = None
    attempts: gr.Dataframe = None
    chain: gr.Gallery = None
    audit: gr.Dataframe = None
    attempt_id: gr.Number = None  # the attempt shown (hidden)
    expected_review_id: gr.Number = None  # the newest review the curator saw (hidden; empty = none)
    reason: gr.Textbox = None
    keep: gr.Button = None
    fail: gr.Button = None
    skip: gr.Button = None
    prev: gr.Button = None
    next: gr.Button = None
    outputs: list = field(default_factory=list)

    @property
    def decision_inputs(self) -> list:
        return [self.attempt_id, self.reason, self.expected_review_id]

    # -- values ---------------------------------------------------------------------------------------

    def render(self, attempt_id: float | None, message: str = "") -> list:
        """Values for `outputs`: the attempt's item view (empty when attempt_id is None or unknown)."""
        if attempt_id is None or attempt_id == "":
            return self._empty(message)
        store = self.ctx.store()
        try:
            detail = load_item(store, int(attempt_id))
        except StoreError as exc:
            return self._empty(f"⚠️ {html.escape(str(exc))}")
        heat = ensure_heatmap(store, detail.input_sha256, detail.output_sha256)
        images = [str(p) if p else None for p in (detail.input_image, detail.output_image)]
        return [
            _header(detail),
            message,
            tuple(images) if all(images) else None,
            images[0],
            images[1],
            str(heat) if heat else None,
            detail.instruction or "",
            detail.short_instruction or "",
            _score_summary(detail),
            _score_rows(detail),
            (detail.judgment.rationale if detail.judgment else None) or "",
            _attempt_rows(detail),
            gr.update(value=[(str(t.thumbnail), f"turn {t.turn} · {_verdict_text(t.verdict, t.score)}"
                              + (" · this item" if t.attempt_id == detail.attempt_id else ""))
                             for t in detail.chain if t.thumbnail], visible=bool(detail.chain)),
            _audit_rows(detail),
            detail.attempt_id,
            detail.latest_review_id,
            "",
        ]

    def chain_turn(self, attempt_id, index: int) -> int | None:
        """The attempt behind the `index`-th picture of the chain film strip (for the host's `chain.select`)."""
        if attempt_id in (None, ""):
            return None
        try:
            turns = [t for t in load_item(self.ctx.store(), int(attempt_id)).chain if t.thumbnail]
        except StoreError:
            return None
        return turns[index].attempt_id if 0 <= index < len(turns) else None

    def _empty(self, message: str) -> list:
        return ["", message, None, None, None, None, "", "", "", [], "", [], gr.update(value=[], visible=False), [],
                None, None, ""]

    def decide(self, verdict: str | None, attempt_id, reason: str | None, expected_review_id,
               request: gr.Request | None = None) -> list:
        if attempt_id is None or attempt_id == "":
            return self._empty("Open an item first.")
        expected = None if expected_review_id in (None, "") else int(expected_review_id)
        result = decide(self.ctx.store(), int(attempt_id), verdict, curator=self.ctx.curator(request),
                        reason=reason, expected_review_id=expected)
        if result.ok:
            message = html.escape(result.message)
        else:
            message = (f"**{html.escape(result.message)}** The item below is reloaded with their decision; "
                       "decide again if you still disagree.")
        return self.render(int(attempt_id), message)

    def decide_keep(self, attempt_id, reason, expected_review_id, request: gr.Request) -> list:
        return self.decide("keep", attempt_id, reason, expected_review_id, request)

    def decide_fail(self, attempt_id, reason, expected_review_id, request: gr.Request) -> list:
        return self.decide("fail", attempt_id, reason, expected_review_id, request)


def build_item_panel(ctx, *, elem_prefix: str) -> ItemPanel:
    """Create the item view's components in the current Blocks context (wire them with the returned panel)."""
    p = ItemPanel(elem_prefix=elem_prefix, ctx=ctx)
    eid = lambda name: f"{elem_prefix}-{name}"
    with gr.Column(elem_id=eid("panel"), elem_classes=["pb-item-panel"]):
        p.header = gr.Markdown(elem_id=eid("header"))
        with gr.Row(elem_classes=["pb-decision-row"]):
            p.prev = gr.Button("← Prev", elem_id=eid("prev"), elem_classes=["pb-key-left"], size="sm")
            p.keep = gr.Button("Keep (K)", elem_id=eid("keep"), elem_classes=["pb-key-k"], variant="primary",
                               size="sm")
            p.fail = gr.Button("Fail (F)", elem_id=eid("fail"), elem_classes=["pb-key-f"], variant="stop",
                               size="sm")
            p.skip = gr.Button("Skip (S)", elem_id=eid("skip"), elem_classes=["pb-key-s"], size="sm")
            p.next = gr.Button("Next →", elem_id=eid("next"), elem_classes=["pb-key-right"], size="sm")
            p.reason = gr.Textbox(placeholder="optional reason (saved with Keep / Fail)", show_label=False,
                                  elem_id=eid("reason"), scale=3, container=False)
        p.message = gr.Markdown(elem_id=eid("message"), elem_classes=["pb-item-message"])
        with gr.Row():
            p.slider = gr.ImageSlider(label="original ↔ edited (drag)", type="filepath", elem_id=eid("slider"),
                                      max_height=520, interactive=False, scale=3)
            with gr.Column(scale=2):
                p.score_summary = gr.Markdown(elem_id=eid("score"))
                p.scores = gr.Dataframe(headers=SCORE_HEADERS, label="judge sub-scores", interactive=False,
                                        elem_id=eid("scores"))
                p.rationale = gr.Textbox(label="judge's rationale", lines=3, interactive=False,
                                         elem_id=eid("rationale"))
        with gr.Row(equal_height=True):
            p.before = gr.Image(label="original", type="filepath", interactive=False, elem_id=eid("before"),
                                height=240)
            p.after = gr.Image(label="edited", type="filepath", interactive=False, elem_id=eid("after"),
                               height=240)
            p.heatmap = gr.Image(label="difference (bright = changed)", type="filepath", interactive=False,
                                 elem_id=eid("heatmap"), height=240)
        with gr.Row():
            p.instruction = gr.Textbox(label="long instruction", lines=3, interactive=False,
                                       elem_id=eid("instruction"), scale=3)
            p.short_instruction = gr.Textbox(label="short instruction", lines=3, interactive=False,
                                             elem_id=eid("short"), scale=2)
        p.attempts = gr.Dataframe(headers=ATTEMPT_HEADERS, label="attempts of this edit", interactive=False,
                                  elem_id=eid("attempts"), wrap=True)
        p.chain = gr.Gallery(label="chain (turn by turn)", columns=6, height=170, object_fit="contain",
                             allow_preview=False, elem_id=eid("chain"), interactive=False, visible=False)
        p.audit = gr.Dataframe(headers=AUDIT_HEADERS, label="audit history (human decisions)", interactive=False,
                               elem_id=eid("audit"), wrap=True)
        with gr.Row(elem_classes=["pb-hidden"]):  # state the events carry; present in the page, never shown
            p.attempt_id = gr.Number(label="attempt id", precision=0, elem_id=eid("attempt-id"))
            p.expected_review_id = gr.Number(label="seen review id", precision=0, elem_id=eid("review-id"))
    p.outputs = [p.header, p.message, p.slider, p.before, p.after, p.heatmap, p.instruction, p.short_instruction,
                 p.score_summary, p.scores, p.rationale, p.attempts, p.chain, p.audit, p.attempt_id,
                 p.expected_review_id, p.reason]
    return p


# -- formatting (escaped: model-written text never becomes HTML) --------------------------------------------


def _header(d: ItemDetail) -> str:
    what = html.escape(d.edit_type or "chain turn")
    category = html.escape(d.category or "multi-turn")
    verdict = d.verdict
    label = {"keep": "keep", "fail": "fail"}.get(verdict.verdict, "unjudged")
    badge = f"<span class='pb-badge pb-{label}'>{label.upper()}</span>"
    by = {"human": "a curator", "judge": "the judge", "release": "the release", "status": "the editor status",
          "none": "nobody yet"}.get(verdict.source, verdict.source)
    n = len(d.attempts)
    return (f"#### Attempt {d.attempt_id} · {what} <span class='pb-muted'>({category})</span>\n"
            f"{badge} decided by {by} · turn {d.turn} · attempt {d.attempt_no} of {n} · status `{d.status}`"
            f" · {html.escape(d.origin)} · backend {html.escape(d.backend or '–')} / "
            f"{html.escape(d.model or '–')} · source #{d.source_id} `{html.escape(d.source_uri)}`")


def _verdict_text(verdict: str | None, score: float | None) -> str:
    label = {"keep": "keep", "fail": "fail"}.get(verdict or "", "unjudged")
    return f"{label} {score:.3f}" if score is not None else label


def _score_summary(d: ItemDetail) -> str:
    v = d.verdict
    human = f"**{v.human_verdict}** (curator)" if v.human_verdict else "–"
    if d.judgment is None:
        return f"No judgment. Human decision: {human}. Policy `{html.escape(d.policy)}`."
    j = d.judgment
    judge = "keep" if v.judge_verdict == "keep" else "fail"
    overall = f" · judge's own overall {j.judge_overall:.2f}" if j.judge_overall is not None else ""
    return (f"**Weighted score {j.score:.3f}** under `{html.escape(d.policy)}` (threshold {j.threshold:.2f}) → "
            f"judge says **{judge}**{overall} · human: {human} · judge model "
            f"`{html.escape(j.judge_model or '–')}`")


def _score_rows(d: ItemDetail) -> list[list]:
    if d.judgment is None:
        return []
    j = d.judgment
    rows = []
    for name, label in SUBSCORE_LABELS:
        value, weight = getattr(j.subscores, name), getattr(j.weights, name)
        rows.append([label, round(value, 3), round(weight, 3), round(value * weight, 3)])
    rows.append(["weighted score", round(j.score, 3), 1.0, round(j.score, 3)])
    return rows


def _attempt_rows(d: ItemDetail) -> list[list]:
    pair = {"chosen": "chosen (kept)", "rejected": "rejected (failed before)"}
    return [["▶" if a.attempt_id == d.attempt_id else "", a.attempt_no, a.attempt_id, a.status,
             None if a.score is None else round(a.score, 3), a.verdict, a.verdict_source,
             pair.get(a.preference or "", ""), a.failure_reason or ""] for a in d.attempts]


def _audit_rows(d: ItemDetail) -> list[list]:
    return [[r.id, r.created_at.replace("T", " ").rstrip("Z"), r.curator, r.old_verdict or "",
             r.new_verdict or "cleared", r.reason or "", (r.batch_id or "")[:8]] for r in reversed(d.reviews)]
