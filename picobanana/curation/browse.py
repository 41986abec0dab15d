"""A Browse grid page: one keyset page of attempts, with what each cell shows (thumbnail, badges).

    page = browse_page(store, BrowseView(filter=AttemptFilter(category_id=3, verdict="fail")))
    page.cells[0].thumbnail, page.next_cursor, step_in_page(page_ids, current, +1)

The thumbnails are the store's pre-made 256 px WebP files (thumbs/…); a missing one is made on the spot when
the image file exists (data imported before thumbnails existed), and is None when there is no image at all.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from picobanana.curation.items import thumbnail_of
from picobanana.curation.urlstate import BrowseView
from picobanana.store.db import Store
from picobanana.store.paging import PageItem, page_attempts
from picobanana.store.policies import Policy, active_policy
from picobanana.taxonomy import category_by_id, edit_type_by_id

PAGE_SIZE = 48


class GridCell(BaseModel):
    attempt_id: int
    thumbnail: Path | None
    verdict: str  # keep | fail | pending
    verdict_source: str  # human | judge | release | status | none
    score: float | None
    category_id: int | None
    category: str
    category_slug: str | None
    edit_type: str
    turn: int
    attempt_no: int
    status: str
    short_instruction: str | None

    @property
    def badge(self) -> str:
        """keep / fail / unjudged (nothing decided it yet), as the grid labels it."""
        return "unjudged" if self.verdict == "pending" else self.verdict

    @property
    def human(self) -> bool:
        return self.verdict_source == "human"


class BrowsePage(BaseModel):
    view: BrowseView
    cells: list[GridCell]
    next_cursor: str | None
    plan: str

    @property
    def attempt_ids(self) -> list[int]:
        return [cell.attempt_id for cell in self.cells]


def browse_page(store: Store, view: BrowseView, *, limit: int = PAGE_SIZE, policy: Policy | None = None) -> BrowsePage:
    policy = policy or active_policy(store)
    page = page_attempts(store, view.filter, sort=view.sort, after=view.after, limit=limit, policy=policy)
    return BrowsePage(view=view, cells=[_cell(store, item) for item in page.items], next_cursor=page.next_cursor,
                      plan=page.plan)


def step_in_page(attempt_ids: list[int], current: int | None, step: int) -> int | None:
    """The neighbour of `current` in the page order (None past either end); the first item if `current` is
    not on the page."""
    if not attempt_ids:
        return None
    if current not in attempt_ids:
        return attempt_ids[0] if step > 0 else attempt_ids[-1]
    index = attempt_ids.index(current) + step
    return attempt_ids[index] if 0 <= index < len(attempt_ids) else None


def _cell(store: Store, item: PageItem) -> GridCell:
    category = _category(item.category_id)
    return GridCell(attempt_id=item.attempt_id, thumbnail=thumbnail_of(store, item.output_sha256),
                    verdict=item.verdict, verdict_source=item.verdict_source, score=item.score,
                    category_id=item.category_id, category=category[0], category_slug=category[1],
                    edit_type=_edit_type(item.edit_type_id), turn=item.turn, attempt_no=item.attempt_no,
                    status=item.status, short_instruction=item.short_instruction)


def _category(category_id: int | None) -> tuple[str, str | None]:
    try:
        category = category_by_id(category_id)
        return category.name, category.slug
    except (KeyError, TypeError):
        return "multi-turn" if category_id is None else f"category {category_id}", None


def _edit_type(edit_type_id: int | None) -> str:
    try:
        return edit_type_by_id(edit_type_id).name
    except (KeyError, TypeError):
        return "(chain turn)" if edit_type_id is None else f"type {edit_type_id}"
