"""Browse core: the URL view round trip, grid pages (badges, thumbnails, keyset pages without dupes or gaps)
and stepping through a page."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from picobanana.curation.browse import browse_page, step_in_page
from picobanana.curation.urlstate import PARAM_NAMES, BrowseView, decode, encode
from picobanana.errors import InputError
from picobanana.store import record_review
from picobanana.store.paging import AttemptFilter, page_attempts
from picobanana.store.writes import (
    NewAttempt,
    NewEdit,
    NewJudgment,
    NewSource,
    ensure_edits,
    ensure_sources,
    insert_attempts,
    record_judgments,
)


def test_default_view_is_the_empty_query():
    assert encode(BrowseView()) == ""
    assert decode("") == BrowseView() == decode("?tab=browse&__theme=dark")  # not ours: ignored


def test_every_field_round_trips_through_the_url():
    view = BrowseView(
        filter=AttemptFilter(category_id=3, edit_type_id=14, verdict="fail", judge_verdict="keep",
                             human_verdict="fail", has_override=True, backend="gemini", model="g-1.5 pro",
                             turn=2, origin="pipeline", status="ok", source_id=77, score_min=0.65, score_max=0.75,
                             compliance_min=0.5, seamlessness_max=0.9, preservation_min=0.1, quality_max=1.0,
                             text="sunset & “red” car"),
        sort="score_asc", after=page_cursor(), item=1234)
    query = encode(view)
    assert decode(query) == view
    assert decode("?" + query) == view
    assert "category=" in query and "type=" in query and "item=1234" in query
    assert {k for k, _ in (pair.split("=", 1) for pair in query.split("&"))} <= set(PARAM_NAMES)


def test_urls_are_readable_slugs_and_accept_ids():
    assert encode(BrowseView(filter=AttemptFilter(category_id=1))) == "category=pixel-photometric"
    assert decode("category=1&type=color-tone").filter == AttemptFilter(category_id=1, edit_type_id=1)
    assert decode({"override": "no", "q": "  "}).filter == AttemptFilter(has_override=False)


@pytest.mark.parametrize("query, problem", [
    ("category=nowhere", "category"), ("type=teleport", "type"), ("sort=random", "sort"),
    ("after=%21%21", "cursor"), ("item=seven", "item"), ("score_min=2", "score_min"),
    ("verdict=maybe", "verdict"), ("override=perhaps", "override"), ("turn=0", "turn"),
])
def test_bad_urls_are_refused_with_the_parameter_named(query, problem):
    with pytest.raises(InputError, match=problem):
        decode(query)


def page_cursor() -> str:
    from picobanana.store.paging import Cursor

    return Cursor(score=0.7125, id=99).encode()


def _png(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (shade, 100, 100)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def grid(store):
    """130 attempts over two categories: judged, unjudged and one with a human decision; images on some."""
    images = [store.images.put_bytes(_png(i)) for i in range(5)]
    with store.transaction() as rev:
        source_id = ensure_sources(store, [NewSource(uri="s", origin="ingest")], rev)["s"]
        edits = [NewEdit(key=f"e{i}", source_id=source_id, edit_type_id=1 if i % 2 else 14,
                         category_id=1 if i % 2 else 3, origin="pipeline") for i in range(130)]
        ids = ensure_edits(store, edits, rev)
        insert_attempts(store, [NewAttempt(key=f"a{i}", edit_id=ids[e.key], attempt_no=1, status="ok",
                                           origin="pipeline", edit_type_id=e.edit_type_id,
                                           category_id=e.category_id, short_instruction=f"<i>do {i}</i>",
                                           output_sha256=images[i % 5].sha256 if i < 10 else None)
                                for i, e in enumerate(edits)], rev)
        record_judgments(store, [NewJudgment(a, *((0.5 + (a % 5) / 10,) * 4)) for a in range(1, 121)], rev)
    record_review(store, 3, "fail", curator="ann")
    return ids


def test_grid_pages_have_no_dupes_or_gaps_and_carry_badges(store, grid):
    seen, view = [], BrowseView()
    while True:
        page = browse_page(store, view)
        assert len(page.cells) <= 48
        seen += page.attempt_ids
        if page.next_cursor is None:
            break
        view = view.model_copy(update={"after": page.next_cursor})
    assert len(seen) == len(set(seen)) == 130
    assert seen == [i.attempt_id for i in page_attempts(store, AttemptFilter(), limit=1000).items]
    cells = {c.attempt_id: c for c in browse_page(store, BrowseView(), limit=200).cells}
    assert (cells[3].badge, cells[3].human) == ("fail", True)
    assert cells[125].badge == "unjudged" and cells[125].score is None
    assert cells[1].thumbnail is not None and cells[1].thumbnail.exists()
    assert cells[1].thumbnail.is_relative_to(store.workspace / "thumbs")
    assert cells[50].thumbnail is None
    assert cells[2].category_slug == "pixel-photometric" and cells[1].category_slug != "pixel-photometric"


def test_a_filtered_grid_shows_only_that_category(store, grid):
    page = browse_page(store, BrowseView(filter=AttemptFilter(category_id=1)), limit=200)
    assert len(page.cells) == 65 and {c.category_slug for c in page.cells} == {"pixel-photometric"}


def test_stepping_through_the_page_order():
    ids = [5, 9, 2]
    assert step_in_page(ids, 9, +1) == 2 and step_in_page(ids, 9, -1) == 5
    assert step_in_page(ids, 2, +1) is None and step_in_page(ids, 5, -1) is None
    assert step_in_page(ids, 77, +1) == 5 and step_in_page(ids, None, -1) == 2
    assert step_in_page([], 1, +1) is None
