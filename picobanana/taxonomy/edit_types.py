"""The Pico-Banana-400K edit taxonomy: 8 categories and 35 edit types.

The ``name`` strings below are the single source of truth for ``edit_type`` values in picobanana: they are the
exact strings of the public release (``sft.jsonl`` / ``preference.jsonl``), byte for byte, including the
U+2194 LEFT RIGHT ARROW in types 1, 10 and 15, the U+2013 EN DASH in type 31 and the ASCII apostrophe in
type 6. Every other module imports them from here instead of retyping them.

Reference: /work/shared/reference/pico-banana.md, sections 2.1 (strings, counts, success rates) and
2.2 (categories); paper: Qian et al., arXiv 2510.19808, Table 1 and section 3.
Paper-wording aliases and tolerant matching live in :mod:`picobanana.taxonomy.aliases`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

Scope = Literal["global", "local"]

# Records in the released sft.jsonl (paper Table 1 sums to 257,746; the JSONL is ground truth).
PAPER_SFT_TOTAL = 257730


@dataclass(frozen=True, slots=True)
class Category:
    id: int
    name: str
    slug: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EditType:
    id: int
    name: str
    category: Category
    scope: Scope
    needs_person: bool
    needs_text: bool
    sft_count: int
    paper_count: int
    paper_success: float | None
    paper_note: str | None
    slug: str


CATEGORIES: tuple[Category, ...] = (
    Category(1, "Pixel & Photometric", "pixel-photometric"),
    Category(2, "Object-Level Semantic", "object-level-semantic", ("Object-Level",)),
    Category(3, "Scene Composition & Multi-Subject", "scene-composition", ("Scene Composition",)),
    Category(4, "Stylistic", "stylistic"),
    Category(5, "Text & Symbol", "text-symbol"),
    Category(6, "Human-Centric", "human-centric"),
    Category(7, "Scale & Perspective", "scale-perspective", ("Scale",)),
    Category(8, "Spatial/Layout", "spatial-layout", ("Spatial / Layout",)),
)

_G, _L = "global", "local"
_UNSTABLE = "unstable"  # the paper gives no number for three text types, only calls them unstable

# (category id, exact name, slug, scope, sft n, paper n, paper success, paper note), in "#" order.
# needs_person / needs_text are derived below from the category and _EXISTING_TEXT_SLUGS.
# One row per type, laid out like table 2.1.
# fmt: off
_ROWS = (
    (1, "Change overall color tone (warm \u2194 cool)", "color-tone", _G, 14745, 14745, None, None),
    (1, "Add film grain or vintage filter", "film-grain", _G, 15443, 15443, 0.9068, None),
    (2, "Add a new object to the scene", "add-object", _L, 14187, 14190, None, None),
    (2, "Remove an existing object", "remove-object", _L, 15109, 15111, 0.8328, None),
    (2, "Replace one object category with another", "replace-object", _L, 14547, 14549, 0.8348, None),
    (2, "Change an object's attribute (e.g., color/material)", "object-attribute", _L,
     13813, 13813, None, None),
    (2, "Relocate an object (change its position/spatial relation)", "relocate-object", _L,
     6612, 6612, 0.5923, None),
    (2, "Change the size/shape/orientation of an object", "object-size-shape", _L,
     10787, 10787, 0.6627, None),
    (3, "Add new scene context/background", "scene-context", _G, 14829, 14830, None, None),
    (3, "Apply seasonal transformation (summer \u2194 winter)", "seasonal", _G, 13438, 13439, 0.8015, None),
    (3, "Change weather conditions (sunny/rainy/snowy)", "weather", _G, 11992, 11993, None, None),
    (3, "Adjust global lighting (golden hour/fluorescent)", "global-lighting", _G, 12432, 12433, None, None),
    (4, "Strong artistic style transfer (e.g., Van Gogh/anime/etc.)", "style-transfer", _G,
     15284, 15285, 0.9340, None),
    (4, "Photo to cartoon/sketch/comic", "photo-to-cartoon", _G, 12735, 12736, 0.8006, None),
    (4, "Modern \u2194 historical style/look", "modern-historical", _G, 14856, 14856, 0.8875, None),
    (5, "Replace text in signs/posters/billboards", "replace-text", _L, 3494, 3495, None, _UNSTABLE),
    (5, "Add new (handwritten/printed/etc) text", "add-text", _L, 3866, 3867, None, _UNSTABLE),
    (5, "Change font style or color of visible text if there is text", "text-font-color", _L,
     1431, 1432, 0.5759, None),
    (5, "Translate written text into other languages", "translate-text", _L, 1897, 1896, None, _UNSTABLE),
    (6, "Add/Remove/Replace Accessories (glasses, hats, jewelry, masks)", "accessories", _L,
     1597, 1597, None, None),
    (6, "Clothing edit (change color/outfit)", "clothing", _L, 1801, 1801, None, None),
    (6, "Pose tweak (minor plausible change)", "pose", _L, 1833, 1833, None, None),
    (6, "Modify expressions (smile, frown, neutral)", "expression", _L, 1526, 1526, None, None),
    (6, "Change age / gender", "age-gender", _L, 1685, 1685, None, None),
    (6, "Convert person to 2D anime/manga style (identity-preserving)", "person-anime", _L,
     1040, 1040, None, None),
    (6, "Convert person to Pixar/Disney-like 3D cartoon look", "person-pixar", _L, 1036, 1036, 0.6463, None),
    (6, "Convert person to Western comic cel-shaded style", "person-comic", _L, 982, 982, None, None),
    (6, "Line-art ink sketch of the person", "person-line-art", _L, 1482, 1482, None, None),
    (6, "Sticker-ify the person with bold outline and white border", "person-sticker", _L,
     1422, 1422, None, None),
    (6, "Caricature with mild feature exaggeration (keep identity)", "caricature", _L,
     832, 832, 0.5884, None),
    (6, "Funko-Pop\u2013style toy figure of the person", "person-funko-pop", _L, 1859, 1859, None, None),
    (6, "LEGO-minifigure rendition of the person", "person-lego", _L, 1568, 1568, None, None),
    (6, "Simpsonize the person (yellow-skin cartoon style)", "person-simpsons", _L, 1439, 1439, None, None),
    (7, "Zoom in", "zoom-in", _G, 13729, 13729, None, None),
    (8, "Outpainting (extend canvas beyond boundaries)", "outpainting", _G, 12402, 12403, 0.6634, None),
)
# fmt: on

_HUMAN_CENTRIC_ID = 6
# Only these need visible text already in the source image; "Add new ... text" does not.
_EXISTING_TEXT_SLUGS = frozenset({"replace-text", "text-font-color", "translate-text"})

EDIT_TYPES: tuple[EditType, ...] = tuple(
    EditType(
        id=number,
        name=name,
        category=CATEGORIES[cat_id - 1],
        scope=scope,
        needs_person=cat_id == _HUMAN_CENTRIC_ID,
        needs_text=slug in _EXISTING_TEXT_SLUGS,
        sft_count=sft_n,
        paper_count=paper_n,
        paper_success=success,
        paper_note=note,
        slug=slug,
    )
    for number, (cat_id, name, slug, scope, sft_n, paper_n, success, note) in enumerate(_ROWS, start=1)
)

edit_type_by_name: Mapping[str, EditType] = MappingProxyType({t.name: t for t in EDIT_TYPES})
_BY_SLUG = {t.slug: t for t in EDIT_TYPES}
_CATEGORY_KEYS = {key.casefold(): c for c in CATEGORIES for key in (c.name, c.slug, *c.aliases)}


def edit_type_by_id(type_id: int) -> EditType:
    """Edit type by its 1-based "#" number; KeyError if out of range."""
    if not 1 <= type_id <= len(EDIT_TYPES):
        raise KeyError(f"no edit type with id {type_id!r} (valid: 1..{len(EDIT_TYPES)})")
    return EDIT_TYPES[type_id - 1]


def implied_category_id(category_id: int | None, edit_type_id: int | None) -> int | None:
    """The category a filter means: its own, else its edit type's (an edit type implies its category, which
    lets the per-category score indexes serve a filter on an edit type)."""
    if category_id is not None or edit_type_id is None:
        return category_id
    try:
        return edit_type_by_id(edit_type_id).category.id
    except KeyError:
        return None


def edit_type_by_slug(slug: str) -> EditType:
    """Edit type by its slug (exact); KeyError if unknown."""
    try:
        return _BY_SLUG[slug]
    except KeyError:
        raise KeyError(f"no edit type with slug {slug!r}") from None


def category_by_id(category_id: int) -> Category:
    """Category by its 1-based table position; KeyError if out of range."""
    if not 1 <= category_id <= len(CATEGORIES):
        raise KeyError(f"no category with id {category_id!r} (valid: 1..{len(CATEGORIES)})")
    return CATEGORIES[category_id - 1]


def category_by_name(name: str) -> Category:
    """Category by exact name, slug or a section 2.2 alias, case-insensitively; KeyError if unknown."""
    try:
        return _CATEGORY_KEYS[" ".join(name.split()).casefold()]
    except KeyError:
        raise KeyError(f"no category named {name!r}") from None
