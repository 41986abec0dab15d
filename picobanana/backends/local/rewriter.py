"""LocalRewriter: a long instruction → one short, imperative, user-style sentence ("Make it warmer.").

The long text is read back into a spec with `specs.parse_spec` and the spec is phrased from short templates,
so the short instruction asks for exactly what the long one asked (same direction, colour, quoted text).
Text the parser cannot read falls back to the long instruction's first imperative sentence, trimmed.

Guarantees, because the release's short instructions have known artifacts: the result is never identical to
the long one, never starts lowercase, is one sentence ending with a full stop, and is never a fragment.
A follow-up turn ("Now …") stays a follow-up.
"""

from __future__ import annotations

import random
import re

from picobanana import __version__
from picobanana.backends.base import RewriteRequest, RewriteResult
from picobanana.backends.local import specs as S

MODEL = "picobanana-local-rewriter"
MAX_WORDS = 16
# A chain turn's long instruction opens one of its sentences with a follow-up word.
_FOLLOW_UP = re.compile(r"(?:^|[.!?]\s+)(?:Now|Next|On top of that|Keeping|Building on|Actually)\b")


def _short_phrases(spec: S.Spec) -> list[str]:
    match spec:
        case S.ToneSpec(direction="warm"):
            return ["Make it warmer.", "Give the photo a warm tone.", "Warm up the colors."]
        case S.ToneSpec():
            return ["Make it cooler.", "Give the photo a cool tone.", "Cool down the colors."]
        case S.GrainSpec(look="vintage"):
            return ["Make it look vintage.", "Add a vintage filter.", "Give it a vintage look."]
        case S.GrainSpec():
            return ["Add film grain.", "Give it some film grain.", "Put film grain over the photo."]
        case S.LightingSpec(mode="golden hour"):
            return ["Make the light golden hour.", "Change the lighting to golden hour."]
        case S.LightingSpec(mode="fluorescent"):
            return ["Use fluorescent lighting.", "Change the lighting to fluorescent."]
        case S.LightingSpec():
            return ["Make it dusk.", "Change the lighting to dusk."]
        case S.SeasonSpec(to=season):
            article = "an" if season[0] in "aeiou" else "a"
            return [f"Make it {season}.", f"Turn it into {article} {season} scene.",
                    f"Change the season to {season}."]
        case S.WeatherSpec(kind="rain"):
            return ["Make it rain.", "Add rain.", "Make it a rainy day."]
        case S.WeatherSpec(kind="snow"):
            return ["Make it snow.", "Add falling snow.", "Make it a snowy day."]
        case S.WeatherSpec():
            return ["Make it foggy.", "Add fog.", "Cover the scene in fog."]
        case S.PaintSpec(style="oil painting"):
            return ["Make it an oil painting.", "Turn it into an oil painting."]
        case S.PaintSpec(style="watercolor"):
            return ["Make it a watercolor.", "Turn it into a watercolor painting."]
        case S.PaintSpec():
            return ["Make it pointillism style.", "Redo it in pointillism."]
        case S.CartoonSpec(style="sketch"):
            return ["Make it a pencil sketch.", "Turn it into a sketch."]
        case S.CartoonSpec(style=style):
            return [f"Make it a {style}.", f"Turn the photo into a {style}.", f"Make it look like a {style}."]
        case S.EraSpec(to="modern"):
            return ["Make it look modern.", "Give it a crisp modern digital look."]
        case S.EraSpec(look="faded 1970s film"):
            return ["Make it look like faded 1970s film.", "Give it a faded 1970s film look."]
        case S.EraSpec():
            return ["Make it a 1920s sepia photo.", "Give it an old 1920s sepia look."]
        case S.ZoomSpec(factor=factor):
            return [f"Zoom in {factor:g}x.", f"Zoom in {factor:g}x on the center."]
        case S.OutpaintSpec(sides=sides):
            where = sides[0] if len(sides) == 1 else ", ".join(sides[:-1]) + " and " + sides[-1]
            return [f"Extend the image on the {where}.", f"Expand the canvas on the {where}."]
        case S.AddTextSpec(text=text, color=color, position=position):
            return [f"Add “{text}” in {color} at the {position}.", f"Write “{text}” in {color} at the {position}."]
        case S.ReplaceTextSpec(old=old, new=new):
            return [f"Change “{old}” to “{new}”.", f"Replace “{old}” with “{new}”."]
        case S.TextColorSpec(text=text, color=color) if text:
            return [f"Make “{text}” {color}.", f"Color the text “{text}” {color}."]
        case S.TextColorSpec(color=color):
            return [f"Make the text {color}.", f"Color the lettering {color}."]
    return []


def _first_imperative(long: str) -> str:
    """Fallback: the first sentence that asks for something, cut to MAX_WORDS at a clause boundary."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", long.strip()) if s.strip()]
    descriptive = re.compile(r"^(the|there|this|right now|visible|it is|its)\b", re.IGNORECASE)
    chosen = next((s for s in sentences if not descriptive.match(s)), sentences[0] if sentences else long)
    words = chosen.rstrip(".!?").split()
    if len(words) > MAX_WORDS:
        cut = " ".join(words[:MAX_WORDS])
        # Prefer ending at the last comma inside the limit, so the sentence is a whole clause.
        cut = cut.rsplit(",", 1)[0] if "," in cut[len(cut) // 2:] else cut
        chosen = cut
    return chosen.rstrip(",;: .") + "."


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def shorten(long: str, edit_type_id: int, seed: int = 0) -> str:
    rng = random.Random(f"{seed}:{edit_type_id}:{long}")
    spec = S.parse_spec(edit_type_id, long)
    phrases = _short_phrases(spec) if spec is not None else []
    short = rng.choice(phrases) if phrases else _first_imperative(long)
    if _FOLLOW_UP.search(long.strip()):
        short = "Now " + short[:1].lower() + short[1:] if not short[:2].isupper() else "Now " + short
    short = _capitalise(short.strip())
    if short == long.strip():
        # Already as short as it gets: still a rewrite, never a copy.
        short = "Please " + short[:1].lower() + short[1:] if not short[:2].isupper() else "Please " + short
    return short


class LocalRewriter:
    name = "local"

    async def rewrite(self, request: RewriteRequest) -> RewriteResult:
        short = shorten(request.instruction, request.edit_type_id, request.seed)
        return RewriteResult(short_instruction=short, model=MODEL, model_version=__version__)
