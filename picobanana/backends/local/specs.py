"""Structured parameters of every edit type the local editor can really do.

One small pydantic model per type. The instruction writer samples a spec (grounded in the analyser's facts)
and phrases it; the spec travels as `hint` (``spec.model_dump()``) so the local editor and judge do not have
to re-read the text. Other backends' instructions (and released data) have no hint, so `parse_spec` recovers
a spec from free text with keyword rules.

    SUPPORTED                          edit_type_id -> Spec class
    sample_spec(edit_type_id, rng, facts) -> Spec     (raises NotEligible when the image cannot take the edit)
    parse_spec(edit_type_id, text)     -> Spec | None (None: the text names nothing the editor can do)
    spec_from_hint(edit_type_id, hint) -> Spec | None
"""

from __future__ import annotations

import random
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels of the image the spec was sampled for

# Named colours the writer may use and the parser understands; RGB so ops and verifiers agree.
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 170, 60),
    "blue": (30, 70, 220),
    "yellow": (250, 215, 20),
    "orange": (250, 140, 20),
    "purple": (140, 40, 180),
    "pink": (245, 110, 180),
    "white": (250, 250, 250),
    "black": (15, 15, 15),
    "cyan": (20, 200, 220),
}

POSITIONS = ("top", "bottom", "center", "top-left", "top-right", "bottom-left", "bottom-right")
SIDES = ("left", "right", "top", "bottom")


class NotEligible(ValueError):
    """The image cannot take this edit (e.g. no OCR-found text for a replace-text edit)."""


class Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ToneSpec(Spec):
    direction: Literal["warm", "cool"]
    strength: float = Field(0.6, ge=0.2, le=1.0)


class GrainSpec(Spec):
    look: Literal["film grain", "vintage"] = "film grain"
    strength: float = Field(0.6, ge=0.2, le=1.0)


class LightingSpec(Spec):
    mode: Literal["golden hour", "fluorescent", "dusk"]
    strength: float = Field(0.7, ge=0.2, le=1.0)


class SeasonSpec(Spec):
    to: Literal["winter", "summer", "autumn"]


class WeatherSpec(Spec):
    kind: Literal["rain", "snow", "fog"]
    strength: float = Field(0.7, ge=0.2, le=1.0)


class PaintSpec(Spec):
    style: Literal["oil painting", "watercolor", "pointillism"]


class CartoonSpec(Spec):
    style: Literal["cartoon", "sketch", "comic"]


class EraSpec(Spec):
    to: Literal["historical", "modern"]
    look: Literal["1920s sepia", "faded 1970s film", "crisp modern digital"] = "1920s sepia"


class ZoomSpec(Spec):
    factor: float = Field(1.6, ge=1.15, le=3.0)
    center: tuple[float, float] = (0.5, 0.5)  # fractions of width, height


class OutpaintSpec(Spec):
    sides: tuple[Literal["left", "right", "top", "bottom"], ...] = ("left", "right")
    ratio: float = Field(0.25, ge=0.1, le=0.6)  # added pixels per side as a fraction of that dimension


class AddTextSpec(Spec):
    text: str = Field(min_length=1, max_length=40)
    color: str = "white"
    position: Literal["top", "bottom", "center", "top-left", "top-right", "bottom-left", "bottom-right"] = "bottom"


class ReplaceTextSpec(Spec):
    old: str = Field(min_length=1)
    new: str = Field(min_length=1, max_length=40)
    box: Box | None = None  # None: the editor finds `old` with OCR


class TextColorSpec(Spec):
    color: str
    text: str | None = None  # which visible text; None: the most confident OCR box
    box: Box | None = None


SUPPORTED: dict[int, type[Spec]] = {
    1: ToneSpec,
    2: GrainSpec,
    10: SeasonSpec,
    11: WeatherSpec,
    12: LightingSpec,
    13: PaintSpec,
    14: CartoonSpec,
    15: EraSpec,
    16: ReplaceTextSpec,
    17: AddTextSpec,
    18: TextColorSpec,
    34: ZoomSpec,
    35: OutpaintSpec,
}

TEXT_TYPES = frozenset({16, 18})  # need visible (OCR-found) text

_NEW_WORDS = ("OPEN", "SALE", "CAFE", "HELLO", "WELCOME", "EXIT", "SUMMER", "NEWS", "MARKET", "HOTEL", "PARK")


# -- facts (duck-typed: the analyser's Facts, or None) ---------------------------------------------------


def _text_boxes(facts: Any) -> list[Any]:
    # analysis.Facts calls them `text`; accept `text_boxes` too
    found = getattr(facts, "text", None)
    if found is None or isinstance(found, str):
        found = getattr(facts, "text_boxes", None)
    return list(found or [])


def box_of(text_box: Any) -> Box:
    """(x0, y0, x1, y1) of an OCR result: analysis.TextBox (box.x0…), a 4-tuple, or a polygon of points."""
    box = getattr(text_box, "box", text_box)
    if hasattr(box, "x0"):
        return int(box.x0), int(box.y0), int(box.x1), int(box.y1)
    if box is not None and len(box) == 4 and not hasattr(box[0], "__len__"):
        return tuple(round(float(v)) for v in box)  # type: ignore[return-value]
    points = getattr(text_box, "polygon", None) or box
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return int(min(xs)), int(min(ys)), round(float(max(xs))), round(float(max(ys)))


def _brightness(facts: Any) -> float:
    value = getattr(facts, "brightness", None)
    return float(value) if value is not None else 0.5


# -- sampling ------------------------------------------------------------------------------------------


def sample_spec(edit_type_id: int, rng: random.Random, facts: Any = None) -> Spec:
    """A random, image-grounded spec for this type; raises NotEligible / KeyError (unsupported type)."""
    cls = SUPPORTED[edit_type_id]
    strength = round(rng.uniform(0.5, 0.9), 2)
    if cls is ToneSpec:
        return ToneSpec(direction=rng.choice(["warm", "cool"]), strength=strength)
    if cls is GrainSpec:
        return GrainSpec(look=rng.choice(["film grain", "vintage"]), strength=strength)
    if cls is LightingSpec:
        # A dark photo rarely reads as dusk after darkening further; prefer the brightening moods.
        modes = ["golden hour", "fluorescent"] + (["dusk"] if _brightness(facts) > 0.35 else [])
        return LightingSpec(mode=rng.choice(modes), strength=strength)
    if cls is SeasonSpec:
        return SeasonSpec(to=rng.choice(["winter", "summer", "autumn"]))
    if cls is WeatherSpec:
        return WeatherSpec(kind=rng.choice(["rain", "snow", "fog"]), strength=strength)
    if cls is PaintSpec:
        return PaintSpec(style=rng.choice(["oil painting", "watercolor", "pointillism"]))
    if cls is CartoonSpec:
        return CartoonSpec(style=rng.choice(["cartoon", "sketch", "comic"]))
    if cls is EraSpec:
        to = rng.choice(["historical", "modern"])
        look = rng.choice(["1920s sepia", "faded 1970s film"]) if to == "historical" else "crisp modern digital"
        return EraSpec(to=to, look=look)
    if cls is ZoomSpec:
        return ZoomSpec(factor=round(rng.uniform(1.3, 2.2), 2),
                        center=(round(rng.uniform(0.4, 0.6), 2), round(rng.uniform(0.4, 0.6), 2)))
    if cls is OutpaintSpec:
        sides = rng.choice([("left", "right"), ("top", "bottom"), ("left",), ("right",), SIDES])
        return OutpaintSpec(sides=sides, ratio=round(rng.uniform(0.15, 0.35), 2))
    if cls is AddTextSpec:
        return AddTextSpec(text=rng.choice(_NEW_WORDS), color=rng.choice(["white", "yellow", "red", "black"]),
                           position=rng.choice(["top", "bottom", "center"]))
    boxes = [b for b in _text_boxes(facts) if str(getattr(b, "text", "")).strip()]
    if not boxes:
        raise NotEligible("no visible text found by OCR")
    chosen = rng.choice(boxes)
    old = str(chosen.text).strip()
    if cls is ReplaceTextSpec:
        new = rng.choice([w for w in _NEW_WORDS if w.casefold() != old.casefold()])
        return ReplaceTextSpec(old=old, new=new, box=box_of(chosen))
    return TextColorSpec(color=rng.choice(["red", "blue", "green", "yellow", "orange", "purple"]), text=old,
                         box=box_of(chosen))


# -- parsing free text -------------------------------------------------------------------------------


def _has(text: str, *words: str) -> bool:
    return any(re.search(rf"\b{re.escape(w)}", text) for w in words)


def _first(text: str, options: dict[str, tuple[str, ...]]) -> str | None:
    """The option whose keyword appears earliest in the text (the first mention is the target)."""
    best: tuple[int, str] | None = None
    for value, words in options.items():
        for w in words:
            m = re.search(rf"\b{re.escape(w)}", text)
            if m and (best is None or m.start() < best[0]):
                best = (m.start(), value)
    return best[1] if best else None


def _quoted(text: str) -> list[str]:
    return [a or b for a, b in re.findall(r"[\"“”']([^\"“”']{1,40})[\"“”']|‘([^’]{1,40})’", text)]


def _color(text: str) -> str | None:
    return _first(text, {c: (c,) for c in COLORS})


def _number(text: str, default: float) -> float:
    m = re.search(r"(\d+(?:\.\d+)?)\s*(x|×|times|%)", text)
    if not m:
        return default
    value = float(m.group(1))
    return 1 + value / 100 if m.group(2) == "%" else value


def parse_spec(edit_type_id: int, instruction_text: str) -> Spec | None:
    """Keyword rules: "make it warmer" -> ToneSpec(direction="warm"). None when nothing actionable is named."""
    cls = SUPPORTED.get(edit_type_id)
    if cls is None:
        return None
    raw = instruction_text or ""
    t = raw.casefold()
    try:
        return _parse(cls, t, raw)
    except ValidationError:
        return None


def _parse(cls: type[Spec], t: str, raw: str) -> Spec | None:
    if cls is ToneSpec:
        d = _first(t, {"warm": ("warm", "golden", "amber", "orange", "sunny"),
                       "cool": ("cool", "cold", "blue", "icy", "teal")})
        return ToneSpec(direction=d) if d else None
    if cls is GrainSpec:
        if _has(t, "vintage", "retro", "old photo", "aged", "faded"):
            return GrainSpec(look="vintage")
        return GrainSpec(look="film grain") if _has(t, "grain", "noise", "film") else None
    if cls is LightingSpec:
        m = _first(t, {"golden hour": ("golden", "sunset", "sunrise", "warm light", "late afternoon"),
                       "fluorescent": ("fluorescent", "office", "neon", "harsh", "cold light"),
                       "dusk": ("dusk", "twilight", "evening", "night", "dim")})
        return LightingSpec(mode=m) if m else None
    if cls is SeasonSpec:
        s = _first(t, {"winter": ("winter", "snow", "wintry", "frost"),
                       "summer": ("summer", "sunny", "lush"),
                       "autumn": ("autumn", "fall", "foliage")})
        return SeasonSpec(to=s) if s else None
    if cls is WeatherSpec:
        k = _first(t, {"rain": ("rain", "storm", "drizzle", "wet"), "snow": ("snow", "blizzard", "flake"),
                       "fog": ("fog", "mist", "haze", "hazy")})
        return WeatherSpec(kind=k) if k else None
    if cls is PaintSpec:
        s = _first(t, {"oil painting": ("oil", "van gogh", "impasto", "brush", "painting", "painted"),
                       "watercolor": ("watercolo", "aquarelle", "wash"),
                       "pointillism": ("pointill", "seurat", "dots")})
        return PaintSpec(style=s) if s else None
    if cls is CartoonSpec:
        s = _first(t, {"cartoon": ("cartoon", "animated", "anime"), "sketch": ("sketch", "pencil", "drawing"),
                       "comic": ("comic", "halftone", "graphic novel", "manga")})
        return CartoonSpec(style=s) if s else None
    if cls is EraSpec:
        if _has(t, "modern", "contemporary", "today", "crisp", "digital"):
            return EraSpec(to="modern", look="crisp modern digital")
        if _has(t, "1970", "70s", "seventies", "faded"):
            return EraSpec(to="historical", look="faded 1970s film")
        if _has(t, "historical", "old", "sepia", "antique", "1920", "19th", "vintage", "era", "century"):
            return EraSpec(to="historical", look="1920s sepia")
        return None
    if cls is ZoomSpec:
        if not _has(t, "zoom", "closer", "close-up", "close up", "crop", "magnif", "enlarge"):
            return None
        return ZoomSpec(factor=min(3.0, max(1.15, _number(t, 1.6))))
    if cls is OutpaintSpec:
        sides = tuple(s for s in SIDES if _has(t, s)) or (
            ("left", "right") if _has(t, "wide", "horizontal", "side") else
            ("top", "bottom") if _has(t, "tall", "vertical") else SIDES)
        if not _has(t, "extend", "expand", "outpaint", "widen", "wider", "beyond", "canvas", "zoom out", "reveal"):
            return None
        return OutpaintSpec(sides=sides)
    quoted = _quoted(raw)
    color = _color(t)
    if cls is AddTextSpec:
        if not quoted:
            return None
        position = _first(t, {p: (p,) for p in sorted(POSITIONS, key=len, reverse=True)}) or "bottom"
        return AddTextSpec(text=quoted[0], color=color or "white", position=position)
    if cls is ReplaceTextSpec:
        if len(quoted) < 2:
            return None
        return ReplaceTextSpec(old=quoted[0], new=quoted[1])
    # TextColorSpec
    if not color:
        return None
    return TextColorSpec(color=color, text=quoted[0] if quoted else None)


def spec_from_hint(edit_type_id: int, hint: dict | None) -> Spec | None:
    cls = SUPPORTED.get(edit_type_id)
    if cls is None or not hint:
        return None
    try:
        return cls.model_validate(hint)
    except ValidationError:
        return None
