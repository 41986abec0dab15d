"""The Chains tab: multi-turn chains, newest first, and one chain turn by turn with per-turn verdicts.

Core: `picobanana.curation.chains` (chains_page, chain_detail). API endpoints: `/chains_page` (filter, origin,
cursor) and `/chain_detail` (chain id). Model-written text (instructions) is shown only in a Dataframe and as
Gallery captions, both rendered as text, never as HTML.
"""

from __future__ import annotations

import html

import gradio as gr
from gradio.context import Context

from picobanana.curation.chains import ChainDetail, ChainFilter, ChainPage, chain_detail, chains_page
from picobanana.errors import PicobananaError

PASSING_CHOICES = ("all", "passing", "not passing")
ORIGINS = ("any", "pipeline", "release", "demo", "ingest")
PAGE_SIZE = 20
LIST_HEADERS = ["chain", "turns", "per turn", "all pass", "origin", "key"]
TURN_HEADERS = ["turn", "edit type", "verdict", "score", "short instruction", "instruction", "attempts", "input"]


def _filter(passing: str, origin: str) -> ChainFilter:
    wanted = {"passing": True, "not passing": False}.get(passing)
    return ChainFilter(passing=wanted, origin=None if origin in (None, "", "any") else origin)


def _page_rows(page: ChainPage) -> list[list]:
    return [[c.chain_id, c.n_turns, c.strip, "yes" if c.all_pass else "no", c.origin, c.key] for c in page.items]


def _score(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def _strip(ctx, detail: ChainDetail) -> list[tuple[str, str]]:
    """The film strip: each turn's input, then its output. An output that is the next turn's input (the usual
    case) is shown once, so a chain reads source → turn 1 → turn 2 …; an input that is not the frame before it
    (the turn continued from another attempt) gets its own frame."""
    images = ctx.store().images
    frames: list[tuple[str, str]] = []
    last: str | None = None

    def add(sha: str | None, caption: str) -> None:
        nonlocal last
        if sha and images.get(sha) is not None:
            frames.append((str(images.ensure_thumbnail(sha)), caption))
            last = sha

    for turn in detail.turns:
        if turn.input_sha256 != last:
            add(turn.input_sha256, "source photo · turn 1 input" if turn.turn == 1 else f"turn {turn.turn} input")
        shown = turn.shown
        if shown is not None:
            label = shown.short_instruction or shown.instruction or ""
            add(shown.output_sha256, f"turn {turn.turn} · {turn.verdict} · {_score(shown.score)} · {label}")
    return frames


def _turn_rows(detail: ChainDetail) -> list[list]:
    rows = []
    for turn in detail.turns:
        shown = turn.shown
        attempts = ", ".join(f"#{a.attempt_no} {a.verdict} {_score(a.score)}".rstrip() for a in turn.attempts)
        source = "source photo" if turn.turn == 1 else (f"attempt {turn.input_attempt_id}"
                                                         if turn.input_attempt_id else "")
        rows.append([turn.turn, turn.edit_type or "", turn.verdict, _score(shown.score if shown else None),
                     (shown.short_instruction if shown else None) or "",
                     (shown.instruction if shown else None) or turn.skip_reason or "",
                     attempts, source])
    return rows


def _header(detail: ChainDetail) -> str:
    s = detail.summary
    state = "every turn passes" if s.all_pass else "not every turn passes"
    return (f"**Chain {s.chain_id}** · {s.n_turns} turns · {html.escape(s.strip)} · {state} · "
            f"origin {html.escape(s.origin)} · source {html.escape(detail.source_uri)}")


def build(ctx, tabs=None) -> None:
    def page(passing: str, origin: str, after: str | None):
        try:
            result = chains_page(ctx.store(), _filter(passing, origin),
                                 after=int(after) if after not in (None, "") else None, limit=PAGE_SIZE)
        except (PicobananaError, ValueError) as exc:
            return gr.update(), gr.update(), f"⚠ {html.escape(str(exc))}"
        info = f"{len(result.items)} chains shown · {result.scanned} read"
        info += " · more on the next page" if result.next_cursor else " · end of the list"
        return _page_rows(result), "" if result.next_cursor is None else str(result.next_cursor), info

    def first_page(passing: str, origin: str):
        return page(passing, origin, "")

    def detail(chain_id: float | None):
        if chain_id in (None, ""):
            return "Choose a chain in the list, or type its id.", [], [], None
        try:
            found = chain_detail(ctx.store(), int(chain_id))
        except (PicobananaError, ValueError) as exc:
            return f"⚠ {html.escape(str(exc))}", [], [], None
        return _header(found), _strip(ctx, found), _turn_rows(found), found.summary.chain_id

    def pick(evt: gr.SelectData):
        row = evt.row_value or []
        return row[0] if row else None

    gr.Markdown("Multi-turn chains, newest first. A chain passes when every turn has a kept attempt that "
                "continues from the turn before — the chains the multi-turn export contains. "
                "✓ keep · ✗ fail · … pending · – skipped · · not made.")
    with gr.Row():
        passing = gr.Radio(list(PASSING_CHOICES), value="all", label="Show", elem_id="chains-passing")
        origin = gr.Dropdown(list(ORIGINS), value="any", label="Origin", elem_id="chains-origin")
        show = gr.Button("Show", elem_id="chains-show")
    table = gr.Dataframe(headers=LIST_HEADERS, interactive=False, elem_id="chains-table")
    with gr.Row():
        info = gr.Markdown(elem_id="chains-info")
        first = gr.Button("First page", elem_id="chains-first", size="sm")
        more = gr.Button("Next page →", elem_id="chains-next", size="sm")
    cursor = gr.Textbox(visible=False)
    with gr.Row():
        chain_id = gr.Number(label="Chain id", precision=0, elem_id="chains-id")
        open_btn = gr.Button("Open chain", variant="primary", elem_id="chains-open")
    header = gr.Markdown(elem_id="chain-header")
    strip = gr.Gallery(label="Film strip (source, then each turn's output)", columns=6, height=260,
                       object_fit="contain", elem_id="chain-strip", format="webp")
    turns = gr.Dataframe(headers=TURN_HEADERS, interactive=False, wrap=True, elem_id="chain-turns")

    page_outputs = [table, cursor, info]
    show.click(first_page, [passing, origin], page_outputs, api_visibility="private")
    first.click(first_page, [passing, origin], page_outputs, api_visibility="private")
    passing.change(first_page, [passing, origin], page_outputs, api_visibility="private")
    origin.change(first_page, [passing, origin], page_outputs, api_visibility="private")
    more.click(page, [passing, origin, cursor], page_outputs, api_name="chains_page")
    tab = Context.block
    if isinstance(tab, gr.Tab):  # the list is read when the tab is opened (new chains appear as jobs run)
        tab.select(first_page, [passing, origin], page_outputs, api_visibility="private")
    detail_outputs = [header, strip, turns, chain_id]
    open_btn.click(detail, [chain_id], detail_outputs, api_name="chain_detail")
    table.select(pick, None, chain_id, api_visibility="private").then(
        detail, [chain_id], detail_outputs, api_visibility="private")
