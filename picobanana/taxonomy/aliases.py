"""Map edit-type spellings found in the wild to the canonical release strings.

Accepted on import, never written: exporters always use ``EditType.name``. The rules follow
/work/shared/reference/pico-banana.md section 2.3 (paper Table 1 wording and typographic variants).
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache

from .edit_types import EDIT_TYPES, EditType, edit_type_by_name

# Paper Table 1 wording -> exact JSONL string (reference section 2.3, verbatim, curly quotes included).
# fmt: off
PAPER_ALIASES: dict[str, str] = {
    "Adjust global lighting (e.g., golden hour, fluorescent)":
        "Adjust global lighting (golden hour/fluorescent)",
    "Photo \u2192 cartoon/sketch/comic":
        "Photo to cartoon/sketch/comic",
    "Add new (handwritten/printed/etc.) text":
        "Add new (handwritten/printed/etc) text",
    "Change font style or color of visible text (if present)":
        "Change font style or color of visible text if there is text",
    "Add/Remove/Replace accessories (glasses, hats, jewelry, masks)":
        "Add/Remove/Replace Accessories (glasses, hats, jewelry, masks)",
    "Change age/gender":
        "Change age / gender",
    "Sticker-ify the person (bold outline, white border)":
        "Sticker-ify the person with bold outline and white border",
    "\u201cSimpsonize\u201d the person (yellow-skin cartoon style)":
        "Simpsonize the person (yellow-skin cartoon style)",
    "Change an object\u2019s attribute (e.g., color/material)":
        "Change an object's attribute (e.g., color/material)",
}
# fmt: on


class UnknownEditType(ValueError):
    """Raised for a string that matches no edit type, even tolerantly."""

    def __init__(self, text: str, suggestion: str | None):
        hint = f"did you mean {suggestion!r}?" if suggestion else "not one of the 35 released edit types"
        super().__init__(f"unknown edit_type {text!r}; {hint}")
        self.text = text
        self.suggestion = suggestion


# fmt: off
_QUOTES = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
})
# fmt: on
_ARROW_RE = re.compile(r"<-*>")  # "<->", "<>", "<-->" written out for U+2194
_DASH_RE = re.compile(r"--|[\u2013\u2014]")  # en/em dash or "--" -> "-" (only #31 has a dash)
_SLASH_RE = re.compile(r"\s*/\s*")
_PAREN_DOT_RE = re.compile(r"\.\s*\)")  # "etc.)" -> "etc)"
# Quotes wrapping a word or phrase ('"Simpsonize" the person'); an apostrophe follows a letter, so it stays.
_QUOTED_RE = re.compile(r"(?<!\w)(['\"])([^'\"]+)\1(?!\w)")


def normalise(text: str) -> str:
    """Comparison key: both sides of every tolerant match go through this, so the rules stay symmetric."""
    s = text.translate(_QUOTES).replace("\u2192", " to ")
    s = _ARROW_RE.sub("\u2194", s)
    s = _DASH_RE.sub("-", s)
    s = _QUOTED_RE.sub(r"\2", s)
    s = " ".join(s.split()).strip("'\" ")
    s = _SLASH_RE.sub("/", s)
    s = _PAREN_DOT_RE.sub(")", s)
    return s.casefold()


def _build_index() -> dict[str, EditType]:
    index: dict[str, EditType] = {}
    pairs = [(t.name, t) for t in EDIT_TYPES]
    pairs += [(alias, edit_type_by_name[target]) for alias, target in PAPER_ALIASES.items()]
    for spelling, edit_type in pairs:
        key = normalise(spelling)
        # Two types sharing a key would make matching order-dependent; fail at import instead.
        if index.setdefault(key, edit_type) is not edit_type:
            raise RuntimeError(f"ambiguous edit_type key {key!r}")
    return index


_INDEX = _build_index()
_BY_NAME = dict(edit_type_by_name)  # plain dict: the exact-match fast path runs once per imported record


@lru_cache(maxsize=4096)
def _tolerant_lookup(text: str) -> EditType | None:
    return _INDEX.get(normalise(text))


# Below this similarity the "closest" type is noise ("Make it pop" is not about Simpsonizing anyone).
_SUGGESTION_CUTOFF = 0.5


def _suggest(text: str) -> str | None:
    query = normalise(text)

    def similarity(key: str) -> float:
        # Also score the part before "(": short queries ("change lighting") otherwise lose to short keys.
        head = key.split(" (")[0]
        return max(difflib.SequenceMatcher(None, query, k).ratio() for k in (key, head))

    best = max(_INDEX, key=similarity)
    return _INDEX[best].name if similarity(best) >= _SUGGESTION_CUTOFF else None


def resolve_edit_type(text: str) -> tuple[EditType, bool]:
    """Return ``(edit_type, was_alias)``; ``was_alias`` is False only for the exact release string.

    Raises UnknownEditType (a ValueError) naming the closest canonical string.
    """
    edit_type = _BY_NAME.get(text)
    if edit_type is not None:
        return edit_type, False
    if not isinstance(text, str):
        raise TypeError(f"edit_type must be str, not {type(text).__name__}")
    edit_type = _tolerant_lookup(text)
    if edit_type is None:
        raise UnknownEditType(text, _suggest(text))
    return edit_type, True
