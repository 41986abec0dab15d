"""Taxonomy facts from ../shared/reference/pico-banana.md sections 2.1-2.3."""

import dataclasses
import json
from collections import Counter

import pytest
from conftest import PICO_FIXTURES as FIXTURES

from picobanana.taxonomy import (
    CATEGORIES,
    EDIT_TYPES,
    PAPER_SFT_TOTAL,
    Category,
    EditType,
    UnknownEditType,
    category_by_id,
    category_by_name,
    edit_type_by_id,
    edit_type_by_name,
    edit_type_by_slug,
    resolve_edit_type,
)

CATEGORY_TABLE = [  # (name, slug, number of types, SFT records) from section 2.2
    ("Pixel & Photometric", "pixel-photometric", 2, 30188),
    ("Object-Level Semantic", "object-level-semantic", 6, 75055),
    ("Scene Composition & Multi-Subject", "scene-composition", 4, 52691),
    ("Stylistic", "stylistic", 3, 42875),
    ("Text & Symbol", "text-symbol", 4, 10688),
    ("Human-Centric", "human-centric", 14, 20102),
    ("Scale & Perspective", "scale-perspective", 1, 13729),
    ("Spatial/Layout", "spatial-layout", 1, 12402),
]

KNOWN_SUCCESS = {  # type id -> paper success rate (section 2.1)
    2: 0.9068,
    4: 0.8328,
    5: 0.8348,
    7: 0.5923,
    8: 0.6627,
    10: 0.8015,
    13: 0.9340,
    14: 0.8006,
    15: 0.8875,
    18: 0.5759,
    26: 0.6463,
    30: 0.5884,
    35: 0.6634,
}

PAPER_ALIAS_TABLE = [  # section 2.3, written independently of the package's own table
    (
        "Adjust global lighting (e.g., golden hour, fluorescent)",
        "Adjust global lighting (golden hour/fluorescent)",
    ),
    ("Photo \u2192 cartoon/sketch/comic", "Photo to cartoon/sketch/comic"),
    ("Add new (handwritten/printed/etc.) text", "Add new (handwritten/printed/etc) text"),
    (
        "Change font style or color of visible text (if present)",
        "Change font style or color of visible text if there is text",
    ),
    (
        "Add/Remove/Replace accessories (glasses, hats, jewelry, masks)",
        "Add/Remove/Replace Accessories (glasses, hats, jewelry, masks)",
    ),
    ("Change age/gender", "Change age / gender"),
    (
        "Sticker-ify the person (bold outline, white border)",
        "Sticker-ify the person with bold outline and white border",
    ),
    (
        "\u201cSimpsonize\u201d the person (yellow-skin cartoon style)",
        "Simpsonize the person (yellow-skin cartoon style)",
    ),
    (
        "Change an object\u2019s attribute (e.g., color/material)",
        "Change an object's attribute (e.g., color/material)",
    ),
]

TYPOGRAPHIC_VARIANTS = [  # (variant, canonical type id)
    ("Change overall color tone (warm <-> cool)", 1),
    ("Change overall color tone (warm <> cool)", 1),
    ("change overall  color tone (WARM \u2194 COOL)", 1),
    ("Apply seasonal transformation (summer <-> winter)", 10),
    ("Modern <-> historical style/look", 15),
    ("Funko-Pop-style toy figure of the person", 31),
    ("Funko-Pop--style toy figure of the person", 31),
    ('  "Zoom in"  ', 34),
    ("'zoom in'", 34),
    ("Strong artistic style transfer (e.g., Van Gogh / anime / etc)", 13),
    ("\u2018Simpsonize\u2019 the person (yellow-skin cartoon style)", 33),
    ("Photo\u2192cartoon/sketch/comic", 14),
    ("Remove an existing object\n", 4),
]


def fixture_edit_types():
    files = sorted(FIXTURES.glob("*.jsonl"))
    assert files, f"no fixtures under {FIXTURES}"
    return [
        record["edit_type"]
        for path in files
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and "edit_type" in (record := json.loads(line))
    ]


# --- counts and structure -------------------------------------------------------------------------


def test_counts_and_id_order():
    assert len(EDIT_TYPES) == 35
    assert len(CATEGORIES) == 8
    assert [t.id for t in EDIT_TYPES] == list(range(1, 36))
    assert [c.id for c in CATEGORIES] == list(range(1, 9))


def test_categories_match_table_2_2():
    assert [(c.name, c.slug) for c in CATEGORIES] == [(name, slug) for name, slug, _, _ in CATEGORY_TABLE]
    per_category = Counter(t.category.id for t in EDIT_TYPES)
    assert [per_category[c.id] for c in CATEGORIES] == [n for _, _, n, _ in CATEGORY_TABLE]
    totals = Counter()
    for t in EDIT_TYPES:
        totals[t.category.id] += t.sft_count
    assert [totals[c.id] for c in CATEGORIES] == [records for _, _, _, records in CATEGORY_TABLE]


def test_categories_are_contiguous_in_id_order():
    # Table 2.1 lists each category as one block, so category ids never decrease along the type ids.
    ids = [t.category.id for t in EDIT_TYPES]
    assert ids == sorted(ids)


def test_sft_total_and_paper_total():
    assert PAPER_SFT_TOTAL == 257730
    assert sum(t.sft_count for t in EDIT_TYPES) == PAPER_SFT_TOTAL
    assert sum(t.paper_count for t in EDIT_TYPES) == 257746  # paper Table 1 sum
    assert sum(t.sft_count != t.paper_count for t in EDIT_TYPES) == 14


def test_dataclasses_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        EDIT_TYPES[0].name = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        CATEGORIES[0].name = "x"  # type: ignore[misc]
    assert isinstance(EDIT_TYPES[0], EditType) and isinstance(CATEGORIES[0], Category)


# --- byte-level facts -----------------------------------------------------------------------------


def test_arrow_only_in_types_1_10_15():
    assert [t.id for t in EDIT_TYPES if "\u2194" in t.name] == [1, 10, 15]
    assert all(t.name.count("\u2194") == 1 for t in EDIT_TYPES if t.id in (1, 10, 15))


def test_en_dash_only_in_type_31():
    assert [t.id for t in EDIT_TYPES if "\u2013" in t.name] == [31]
    assert edit_type_by_id(31).name == "Funko-Pop\u2013style toy figure of the person"


def test_no_other_non_ascii():
    for t in EDIT_TYPES:
        assert {ch for ch in t.name if not ch.isascii()} <= {"\u2194", "\u2013"}, t.name


def test_apostrophe_in_type_6_is_ascii():
    name = edit_type_by_id(6).name
    assert "'" in name and "\u2019" not in name


def test_names_are_trimmed_single_spaced():
    for t in EDIT_TYPES:
        assert t.name == " ".join(t.name.split()), repr(t.name)


# --- attributes -----------------------------------------------------------------------------------


def test_known_success_rates():
    assert {t.id: t.paper_success for t in EDIT_TYPES if t.paper_success is not None} == KNOWN_SUCCESS


def test_unstable_notes():
    assert {t.id for t in EDIT_TYPES if t.paper_note == "unstable"} == {16, 17, 19}
    assert {t.id for t in EDIT_TYPES if t.paper_note is not None} == {16, 17, 19}


def test_needs_person_is_exactly_human_centric():
    assert {t.id for t in EDIT_TYPES if t.needs_person} == set(range(20, 34))


def test_needs_text_only_for_existing_text():
    assert {t.id for t in EDIT_TYPES if t.needs_text} == {16, 18, 19}


def test_scope():
    global_ids = {t.id for t in EDIT_TYPES if t.scope == "global"}
    assert global_ids == {1, 2, 9, 10, 11, 12, 13, 14, 15, 34, 35}
    assert {t.scope for t in EDIT_TYPES} == {"global", "local"}


def test_slugs_unique_ascii_kebab():
    slugs = [t.slug for t in EDIT_TYPES]
    assert len(set(slugs)) == 35
    for slug in slugs + [c.slug for c in CATEGORIES]:
        assert slug.isascii() and slug == slug.lower() and " " not in slug and slug.strip("-") == slug
    assert len({c.slug for c in CATEGORIES}) == 8


# --- lookups --------------------------------------------------------------------------------------


def test_lookup_helpers_agree():
    for t in EDIT_TYPES:
        assert edit_type_by_name[t.name] is t
        assert edit_type_by_id(t.id) is t
        assert edit_type_by_slug(t.slug) is t
    assert len(edit_type_by_name) == 35
    for c in CATEGORIES:
        assert category_by_id(c.id) is c
        assert category_by_name(c.name) is c
        assert category_by_name(c.slug.upper()) is c


def test_lookup_helpers_reject_unknown():
    for bad in (0, 36):
        with pytest.raises(KeyError):
            edit_type_by_id(bad)
    for bad in (0, 9):
        with pytest.raises(KeyError):
            category_by_id(bad)
    with pytest.raises(KeyError):
        edit_type_by_slug("no-such-slug")
    with pytest.raises(KeyError):
        category_by_name("Photometric")


def test_edit_type_by_name_is_read_only():
    with pytest.raises(TypeError):
        edit_type_by_name["x"] = EDIT_TYPES[0]  # type: ignore[index]


@pytest.mark.parametrize(
    "alias, expected_id",
    [
        ("Object-Level", 2),
        ("scene composition", 3),
        ("Scale", 7),
        ("Spatial / Layout", 8),
        ("TEXT & SYMBOL", 5),
    ],
)
def test_category_aliases(alias, expected_id):
    assert category_by_name(alias).id == expected_id


# --- resolve_edit_type ----------------------------------------------------------------------------


def test_exact_strings_resolve_without_alias():
    for t in EDIT_TYPES:
        assert resolve_edit_type(t.name) == (t, False)


@pytest.mark.parametrize("alias, canonical", PAPER_ALIAS_TABLE)
def test_paper_aliases(alias, canonical):
    assert resolve_edit_type(alias) == (edit_type_by_name[canonical], True)


@pytest.mark.parametrize("variant, expected_id", TYPOGRAPHIC_VARIANTS)
def test_typographic_variants(variant, expected_id):
    assert resolve_edit_type(variant) == (edit_type_by_id(expected_id), True)


def test_unknown_raises_with_suggestion():
    with pytest.raises(UnknownEditType) as info:
        resolve_edit_type("Remove an object from the scene")
    message = str(info.value)
    assert "'Remove an object from the scene'" in message
    assert info.value.suggestion in edit_type_by_name
    assert repr(info.value.suggestion) in message
    assert isinstance(info.value, ValueError)


def test_unknown_suggests_closest_type():
    with pytest.raises(UnknownEditType) as info:
        resolve_edit_type("Zoom out")
    assert info.value.suggestion == "Zoom in"
    with pytest.raises(UnknownEditType) as info:
        resolve_edit_type("Convert person to Pixar 3D cartoon look")
    assert info.value.suggestion == "Convert person to Pixar/Disney-like 3D cartoon look"
    with pytest.raises(UnknownEditType) as info:
        resolve_edit_type("Change the weather")
    assert info.value.suggestion == "Change weather conditions (sunny/rainy/snowy)"


@pytest.mark.parametrize("text", ["", "Zoom", "Outpainting (extend canvas)", "anachronistic style"])
def test_near_misses_are_not_accepted(text):
    with pytest.raises(UnknownEditType):
        resolve_edit_type(text)


def test_fixture_edit_types_resolve_exactly():
    seen = fixture_edit_types()
    assert len(seen) >= 26
    for value in seen:
        assert resolve_edit_type(value)[1] is False, value


def test_no_suggestion_when_nothing_is_close():
    with pytest.raises(UnknownEditType) as info:
        resolve_edit_type("Make it pop")
    assert info.value.suggestion is None
    assert "not one of the 35 released edit types" in str(info.value)
