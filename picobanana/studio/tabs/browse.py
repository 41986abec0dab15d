"""The Browse tab: filters → a grid of 48 thumbnails per keyset page → the item view.

The view (filters, sort, page cursor, open item) lives in a hidden query-string box (`#pb-browse-query`,
encoded by curation/urlstate.py); every change of it is copied into the address bar with history.replaceState,
and the page's URL is read back on load, so a view can be bookmarked and shared. Endpoints:
`/browse_page(query)` → grid, page facts, `/open_item(attempt_id, query)` → the item view,
`/decide(attempt_id, verdict, reason, expected_review_id)` → the decision (also `/decide_keep`, `/decide_fail`
behind the buttons).
"""

from __future__ import annotations

import html
import json
import logging
import threading
from urllib.parse import parse_qsl, quote

import gradio as gr
from gradio.context import Context

from picobanana.curation.browse import BrowsePage, browse_page, step_in_page
from picobanana.curation.items import decide
from picobanana.curation.urlstate import PARAM_NAMES, BrowseView, decode, encode
from picobanana.errors import PicobananaError
from picobanana.store.db import Store
from picobanana.store.paging import AttemptFilter
from picobanana.store.text_search import sync_instruction_index
from picobanana.studio.item_panel import build_item_panel
from picobanana.taxonomy import CATEGORIES, EDIT_TYPES

ANY = "any"
VERDICTS = [("any", ANY), ("keep", "keep"), ("fail", "fail"), ("unjudged (pending)", "pending")]
JUDGE = [("any", ANY), ("judge: keep", "keep"), ("judge: fail", "fail"), ("not judged", "unjudged")]
HUMAN = [("any", ANY), ("curator kept", "keep"), ("curator failed", "fail"), ("any curator decision", "yes"),
         ("no curator decision", "no")]
SORT_CHOICES = [("best score first", "score_desc"), ("worst score first", "score_asc"), ("newest first", "newest")]
ORIGINS = [ANY, "pipeline", "release", "demo", "ingest"]
RANGES = ("score", "compliance", "seamlessness", "preservation", "quality")
# Where the grid's thumbnails come from: Gradio's file route, which serves only the allowed workspace folders.
FILE_ROUTE = "/gradio_api/file="

# Copies the view into the address bar, keeping parameters that are not Browse's (e.g. the studio's tab).
URL_SYNC_JS = f"""(query) => {{
  const owned = new Set({json.dumps(PARAM_NAMES)});
  const url = new URL(window.location.href);
  const ours = new URLSearchParams(query || "");
  const kept = new URLSearchParams();
  for (const [k, v] of url.searchParams) if (!owned.has(k)) kept.append(k, v);
  for (const [k, v] of ours) kept.append(k, v);
  const text = kept.toString();
  history.replaceState(history.state, "", url.pathname + (text ? "?" + text : "") + url.hash);
  return [];
}}"""


def build(ctx, tabs=None) -> None:
    # New attempts enter the text-search index on the first search after them (store/paging.py); after a big
    # import that first search would pay seconds, so the studio pays them in the background as it starts.
    threading.Thread(target=_warm_search_index, args=(ctx.workspace,), name="pb-search-index", daemon=True).start()
    with gr.Column(elem_id="pb-browse"):
        with gr.Row(elem_classes=["pb-filter-row"]):
            category = gr.Dropdown([("any category", ANY)] + [(c.name, c.slug) for c in CATEGORIES], value=ANY,
                                   label="category", elem_id="pb-filter-category", scale=2)
            edit_type = gr.Dropdown([("any edit type", ANY)] + [(t.name, t.slug) for t in EDIT_TYPES], value=ANY,
                                    label="edit type", elem_id="pb-filter-type", scale=3)
            verdict = gr.Dropdown(VERDICTS, value=ANY, label="verdict (effective)", elem_id="pb-filter-verdict")
            text = gr.Textbox(label="search instructions", placeholder="words, e.g. warm sunset",
                              elem_id="pb-filter-text", scale=2)
            sort = gr.Dropdown(SORT_CHOICES, value="score_desc", label="sort", elem_id="pb-filter-sort")
        with gr.Accordion("More filters: judge, curator, scores, backend, source", open=False,
                          elem_id="pb-more-filters"):
            with gr.Row():
                judge = gr.Dropdown(JUDGE, value=ANY, label="judge's verdict", elem_id="pb-filter-judge")
                human = gr.Dropdown(HUMAN, value=ANY, label="curator decision", elem_id="pb-filter-human")
                backend = gr.Textbox(label="backend", placeholder="e.g. local, gemini", elem_id="pb-filter-backend")
                model = gr.Textbox(label="model", elem_id="pb-filter-model")
                turn = gr.Number(label="turn", precision=0, minimum=1, elem_id="pb-filter-turn")
                origin = gr.Dropdown(ORIGINS, value=ANY, label="origin", elem_id="pb-filter-origin")
                source = gr.Number(label="source photo id", precision=0, minimum=1, elem_id="pb-filter-source")
            with gr.Row():
                bounds = []
                for name in RANGES:
                    label = "weighted score" if name == "score" else name
                    bounds.append(gr.Number(label=f"{label} ≥", minimum=0, maximum=1, step=0.05,
                                            elem_id=f"pb-filter-{name}-min", min_width=90))
                    bounds.append(gr.Number(label=f"{label} ≤", minimum=0, maximum=1, step=0.05,
                                            elem_id=f"pb-filter-{name}-max", min_width=90))
        with gr.Row(elem_classes=["pb-nav-row"]):
            apply = gr.Button("Search", variant="primary", elem_id="pb-browse-apply", size="sm")
            reset = gr.Button("Reset filters", elem_id="pb-browse-reset", size="sm")
            first = gr.Button("⏮ First page", elem_id="pb-page-first", size="sm")
            previous = gr.Button("◀ Previous page", elem_id="pb-page-prev", size="sm")
            following = gr.Button("Next page ▶", elem_id="pb-page-next", size="sm")
            info = gr.Markdown(elem_id="pb-page-info")
        widgets = [category, edit_type, verdict, text, sort, judge, human, backend, model, turn, origin, source,
                   *bounds]

        with gr.Column(elem_id="pb-grid-column") as grid_column:
            grid = gr.HTML(elem_id="pb-grid", padding=False)
        with gr.Column(visible=False, elem_id="pb-item-column") as item_column:
            close = gr.Button("✕ Back to the grid (Esc)", elem_id="pb-item-close", elem_classes=["pb-key-escape"],
                              size="sm")
            panel = build_item_panel(ctx, elem_prefix="browse-item")

        with gr.Row(elem_id="pb-browse-hidden", elem_classes=["pb-hidden"]):  # in the page, never shown
            query = gr.Textbox(label="view", elem_id="pb-browse-query")
            page_facts = gr.JSON(label="page", elem_id="pb-browse-page")
            open_target = gr.Textbox(label="open", elem_id="pb-open-target")
            open_button = gr.Button("open", elem_id="pb-open-btn")
            page_button = gr.Button("page", elem_id="pb-page-btn")  # carries the /browse_page endpoint
        cursors = gr.State([])  # the cursors of the pages before this one, for "Previous page"

    page_outputs = [grid, page_facts, info]
    view_outputs = [query, cursors, *page_outputs, grid_column, item_column]
    item_outputs = [*panel.outputs, query, grid_column, item_column]

    # -- view <-> widgets ------------------------------------------------------------------------------

    def view_from_widgets(*values) -> BrowseView:
        (cat, typ, verd, words, order, jv, hv, back, mod, trn, orig, src, *limits) = values
        human_verdict = hv if hv in ("keep", "fail") else None
        override = {"yes": True, "no": False}.get(hv)
        fields = {"verdict": _opt(verd), "judge_verdict": _opt(jv), "human_verdict": human_verdict,
                      "has_override": override, "backend": _opt(back), "model": _opt(mod), "turn": _int(trn),
                      "origin": _opt(orig), "source_id": _int(src), "text": _opt(words)}
        for i, name in enumerate(RANGES):
            fields[f"{name}_min"], fields[f"{name}_max"] = _float(limits[2 * i]), _float(limits[2 * i + 1])
        base = decode({k: v for k, v in (("category", _opt(cat)), ("type", _opt(typ))) if v})
        flt = AttemptFilter(**{**base.filter.model_dump(), **fields})
        return BrowseView(filter=flt, sort=order or "score_desc")

    def widgets_from_view(view: BrowseView) -> list:
        f = view.filter
        params = dict(parse_qsl(encode(BrowseView(filter=AttemptFilter(category_id=f.category_id,
                                                                         edit_type_id=f.edit_type_id)))))
        human_choice = f.human_verdict or {True: "yes", False: "no"}.get(f.has_override, ANY)
        values = [params.get("category", ANY), params.get("type", ANY), f.verdict or ANY, f.text or "", view.sort,
                  f.judge_verdict or ANY, human_choice, f.backend or "", f.model or "", f.turn, f.origin or ANY,
                  f.source_id]
        for name in RANGES:
            values += [getattr(f, f"{name}_min"), getattr(f, f"{name}_max")]
        return values

    # -- callbacks: parse → one core call → format --------------------------------------------------------

    def show_page(view_query: str):
        """/browse_page: the grid for a view given as its URL query string."""
        try:
            view = decode(view_query or "")
            page = browse_page(ctx.store(), view)
        except PicobananaError as exc:
            return _grid_html(None), {"attempt_ids": [], "error": str(exc)}, f"⚠️ {html.escape(str(exc))}"
        facts = {"attempt_ids": page.attempt_ids, "next_cursor": page.next_cursor, "plan": page.plan,
                 "categories": [c.category_slug for c in page.cells], "verdicts": [c.badge for c in page.cells]}
        return _grid_html(page), facts, _page_info(page)

    def show_view(view: BrowseView, stack: list) -> list:
        """One round trip per click: the new view, its page, and the grid shown (the item view closed)."""
        query_text = encode(view.model_copy(update={"item": None}))
        return [query_text, stack, *show_page(query_text), gr.update(visible=True), gr.update(visible=False)]

    def search(*values):
        try:
            view = view_from_widgets(*values)
        except (PicobananaError, ValueError) as exc:
            gr.Warning(str(exc))
            return [gr.update()] * len(view_outputs)
        return show_view(view, [])

    def page_step(view_query: str, facts: dict | None, stack: list, where: str):
        view = _decode_or_default(view_query)
        if where == "first":
            return show_view(view.first_page(), [])
        if where == "next":
            following_cursor = (facts or {}).get("next_cursor")
            if not following_cursor:
                gr.Info("This is the last page.")
                return [gr.update()] * len(view_outputs)
            return show_view(view.model_copy(update={"after": following_cursor}), [*stack, view.after])
        if not stack:
            gr.Info("This is the first page.")
            return [gr.update()] * len(view_outputs)
        return show_view(view.model_copy(update={"after": stack[-1]}), stack[:-1])

    def open_item(target, view_query: str):
        """/open_item: the item view for an attempt id (from a grid click, the URL, or the API)."""
        view = _decode_or_default(view_query)
        attempt_id = _int(target)
        if attempt_id is None:
            return [*panel.render(None), encode(view.model_copy(update={"item": None})),
                    gr.update(visible=True), gr.update(visible=False)]
        return [*panel.render(attempt_id), encode(view.model_copy(update={"item": attempt_id})),
                gr.update(visible=False), gr.update(visible=True)]

    def close_item(view_query: str):
        view = _decode_or_default(view_query)
        return [*panel.render(None), encode(view.model_copy(update={"item": None})), gr.update(visible=True),
                gr.update(visible=False)]

    def move(current, facts: dict | None, view_query: str, step: int):
        target = step_in_page((facts or {}).get("attempt_ids", []), _int(current), step)
        if target is None:
            gr.Info("End of this page: use the page buttons above for more.")
            return [gr.update()] * len(item_outputs)
        return open_item(target, view_query)

    def on_load(request: gr.Request):
        params = dict(request.query_params) if request is not None else {}
        try:
            view = decode(params)
            warning = ""
        except PicobananaError as exc:
            view, warning = BrowseView(), f"⚠️ The link's view was not understood ({exc}); showing everything."
        grid_html, facts, page_info = show_page(encode(view.model_copy(update={"item": None})))
        item = open_item(view.item, encode(view)) if view.item is not None else close_item(encode(view))
        return [*widgets_from_view(view), grid_html, facts, (warning + " " + page_info).strip(), *item]

    def decide_api(attempt_id: int, verdict: str, reason: str = "", expected_review_id: int | None = None,
                   request: gr.Request = None) -> dict:
        """Record keep / fail / clear on an attempt, made on the view whose newest review id was
        `expected_review_id` (None = no review yet); a stale decision is refused with who decided and when."""
        choice = None if verdict in ("clear", "", None) else verdict
        result = decide(ctx.store(), int(attempt_id), choice, curator=ctx.curator(request), reason=reason,
                        expected_review_id=expected_review_id)
        return result.model_dump(mode="json")

    # -- wiring -------------------------------------------------------------------------------------------

    private = {"api_visibility": "private"}
    query.change(None, inputs=query, js=URL_SYNC_JS, **private)
    page_button.click(show_page, inputs=query, outputs=page_outputs, api_name="browse_page")
    apply.click(search, inputs=widgets, outputs=view_outputs, **private)
    text.submit(search, inputs=widgets, outputs=view_outputs, **private)
    reset.click(lambda: [*widgets_from_view(BrowseView()), *show_view(BrowseView(), [])],
                outputs=[*widgets, *view_outputs], **private)
    for button, where in ((first, "first"), (previous, "prev"), (following, "next")):
        button.click(lambda q, f, s, w=where: page_step(q, f, s, w), inputs=[query, page_facts, cursors],
                     outputs=view_outputs, **private)
    open_button.click(open_item, inputs=[open_target, query], outputs=item_outputs, api_name="open_item")
    close.click(close_item, inputs=query, outputs=item_outputs, **private)
    # Moving is safe to queue: ← / → pressed while the last move is still on its way run after it (Gradio's
    # default, "once", would drop them). Keep / Fail stay "once": a decision must never land on an unseen item.
    panel.prev.click(lambda a, f, q: move(a, f, q, -1), inputs=[panel.attempt_id, page_facts, query],
                     outputs=item_outputs, api_name="previous_item", trigger_mode="always_last")
    panel.next.click(lambda a, f, q: move(a, f, q, +1), inputs=[panel.attempt_id, page_facts, query],
                     outputs=item_outputs, api_name="next_item", trigger_mode="always_last")
    panel.skip.click(lambda a, f, q: move(a, f, q, +1), inputs=[panel.attempt_id, page_facts, query],
                     outputs=item_outputs, trigger_mode="always_last", **private)
    def open_chain_turn(current, view_query: str, event: gr.SelectData):
        target = panel.chain_turn(current, event.index)
        return open_item(target, view_query) if target is not None else [gr.update()] * len(item_outputs)

    panel.chain.select(open_chain_turn, inputs=[panel.attempt_id, query], outputs=item_outputs, **private)
    panel.keep.click(panel.decide_keep, inputs=panel.decision_inputs, outputs=panel.outputs,
                     api_name="decide_keep")
    panel.fail.click(panel.decide_fail, inputs=panel.decision_inputs, outputs=panel.outputs,
                     api_name="decide_fail")
    gr.api(decide_api, api_name="decide")
    root = Context.root_block
    if root is not None:
        root.load(on_load, outputs=[*widgets, *page_outputs, *item_outputs], api_name="browse_load")


def _warm_search_index(workspace) -> None:
    try:
        with Store.open(workspace) as store:
            sync_instruction_index(store)
    except Exception:  # a warm-up only: the first search catches up anyway
        logging.getLogger(__name__).warning("could not update the instruction search index", exc_info=True)


# -- formatting -----------------------------------------------------------------------------------------------


def _grid_html(page: BrowsePage | None) -> str:
    if page is None or not page.cells:
        return "<div class='pb-grid pb-grid-empty'>No attempts match these filters.</div>"
    cells = []
    for cell in page.cells:
        if cell.thumbnail is not None:
            image = (f"<img src='{FILE_ROUTE}{quote(str(cell.thumbnail))}' alt='' loading='eager' "
                     f"decoding='async' width='256' height='256'>")
        else:
            image = f"<div class='pb-noimg'>no image<br>({html.escape(cell.status)})</div>"
        human = "<span class='pb-badge pb-human' title='decided by a curator'>👤 human</span>" if cell.human else ""
        score = f"<span class='pb-badge pb-score'>{cell.score:.2f}</span>" if cell.score is not None else ""
        caption = html.escape(cell.short_instruction or "")
        cells.append(
            f"<div role='button' tabindex='0' class='pb-cell pb-v-{cell.badge}' data-attempt='{cell.attempt_id}' "
            f"data-category='{html.escape(cell.category_slug or '')}' data-verdict='{cell.badge}' "
            f"title='{caption}'>{image}"
            f"<span class='pb-badges'><span class='pb-badge pb-verdict pb-{cell.badge}'>{cell.badge}</span>"
            f"{human}{score}</span>"
            f"<span class='pb-badge pb-category' data-category='{html.escape(cell.category_slug or '')}'>"
            f"{html.escape(cell.category)}</span>"
            f"<span class='pb-caption'>#{cell.attempt_id} · {html.escape(cell.edit_type)}<br>{caption}</span>"
            f"</div>")
    return f"<div class='pb-grid'>{''.join(cells)}</div>"


def _page_info(page: BrowsePage) -> str:
    more = "more pages follow" if page.next_cursor else "last page"
    return f"{len(page.cells)} attempts on this page · {more}"


def _decode_or_default(view_query: str | None) -> BrowseView:
    try:
        return decode(view_query or "")
    except PicobananaError:
        return BrowseView()


def _opt(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return None if text in ("", ANY) else text


def _int(value) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _float(value) -> float | None:
    return None if value in (None, "") else float(value)

