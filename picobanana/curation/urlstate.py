"""The Browse view as URL query parameters, so a view can be bookmarked and shared.

    ?category=human-centric&verdict=fail&sort=score_asc&after=<cursor>&item=1234

A view = the filter (AttemptFilter), the sort, the page cursor and the open item. Only what differs from the
default is written; categories and edit types appear by their slugs (readable, stable across releases).
Parameters that are not ours (e.g. the studio's `tab`) are ignored when reading; a value that makes no sense
raises InputError naming the parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from pydantic import BaseModel, ConfigDict, ValidationError

from picobanana.errors import InputError
from picobanana.store.paging import SORTS, AttemptFilter, Cursor, Sort
from picobanana.taxonomy import CATEGORIES, category_by_id, edit_type_by_id, edit_type_by_slug

# URL parameter → AttemptFilter field, for the fields written as they are.
_PLAIN = {
    "verdict": "verdict", "judge": "judge_verdict", "human": "human_verdict", "override": "has_override",
    "backend": "backend", "model": "model", "turn": "turn", "origin": "origin", "status": "status",
    "source": "source_id", "q": "text",
    **{f"{name}_{side}": f"{name}_{side}" for name in ("score", "compliance", "seamlessness", "preservation",
                                                        "quality") for side in ("min", "max")},
}

# Every parameter a Browse view owns; the address bar keeps all others (such as the studio's `tab`).
PARAM_NAMES = ("category", "type", *_PLAIN, "sort", "after", "item")


class BrowseView(BaseModel):
    """What the Browse tab shows: which attempts, in which order, from where, and which one is open."""

    model_config = ConfigDict(frozen=True)

    filter: AttemptFilter = AttemptFilter()
    sort: Sort = "score_desc"
    after: str | None = None  # the page cursor (None = first page)
    item: int | None = None  # the attempt open in the item view

    def first_page(self) -> BrowseView:
        return self.model_copy(update={"after": None})


def encode(view: BrowseView) -> str:
    """The view as a query string (without the leading '?'); "" for the default view."""
    params: list[tuple[str, str]] = []
    flt = view.filter
    if flt.category_id is not None:
        params.append(("category", _category_slug(flt.category_id)))
    if flt.edit_type_id is not None:
        params.append(("type", _edit_type_slug(flt.edit_type_id)))
    for key, field in _PLAIN.items():
        value = getattr(flt, field)
        if value is not None:
            params.append((key, _text(value)))
    if view.sort != "score_desc":
        params.append(("sort", view.sort))
    if view.after:
        params.append(("after", view.after))
    if view.item is not None:
        params.append(("item", str(view.item)))
    return urlencode(params)


def decode(query: str | Mapping[str, str]) -> BrowseView:
    """A view from a query string (with or without '?') or a mapping such as `gr.Request.query_params`."""
    pairs = parse_qsl(query.lstrip("?")) if isinstance(query, str) else list(dict(query).items())
    fields: dict[str, Any] = {}
    view: dict[str, Any] = {}
    for key, raw in pairs:
        value = raw.strip()
        if value == "":
            continue
        if key == "category":
            fields["category_id"] = _category_id(value)
        elif key == "type":
            fields["edit_type_id"] = _edit_type_id(value)
        elif key in _PLAIN:
            fields[_PLAIN[key]] = _boolean(value) if key == "override" else value
        elif key == "sort":
            if value not in SORTS:
                raise InputError(f"sort: {value!r} is not one of {', '.join(SORTS)}")
            view["sort"] = value
        elif key == "after":
            Cursor.decode(value)  # refuse garbage now, not when the page is read
            view["after"] = value
        elif key == "item":
            view["item"] = _integer("item", value)
    try:
        return BrowseView(filter=AttemptFilter(**fields), **view)
    except ValidationError as exc:
        problems = "; ".join(f"{_param_of(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise InputError(f"invalid view in the URL: {problems}") from exc


def _param_of(loc: tuple) -> str:
    field = str(loc[-1]) if loc else "?"
    reverse = {v: k for k, v in _PLAIN.items()}
    return reverse.get(field, field)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("yes", "true", "1"):
        return True
    if lowered in ("no", "false", "0"):
        return False
    raise InputError(f"override: {value!r} is not yes or no")


def _integer(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise InputError(f"{name}: {value!r} is not a number") from exc


def _category_slug(category_id: int) -> str:
    try:
        return category_by_id(category_id).slug
    except KeyError:
        return str(category_id)


def _category_id(value: str) -> int:
    for category in CATEGORIES:
        if value in (category.slug, str(category.id), category.name):
            return category.id
    raise InputError(f"category: no category {value!r}")


def _edit_type_slug(edit_type_id: int) -> str:
    try:
        return edit_type_by_id(edit_type_id).slug
    except KeyError:
        return str(edit_type_id)


def _edit_type_id(value: str) -> int:
    if value.isdigit():
        try:
            return edit_type_by_id(int(value)).id
        except KeyError:
            pass
    else:
        try:
            return edit_type_by_slug(value).id
        except KeyError:
            pass
    raise InputError(f"type: no edit type {value!r}")
