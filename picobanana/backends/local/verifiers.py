"""Per-type instruction-compliance verifiers: did the requested change measurably happen?

verify(spec, original, edited) -> Verdict(score in [0, 1], values: the measurements, region: where the edit
is expected, for the judge's preservation and seam measures). An identity "edit" scores ~0 on every verifier;
an edit in the opposite direction (cool when warm was asked) scores 0 too.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from .metrics import hf, noise, ramp, small
from .ops.common import gray, hsv, rgb_to_lab
from .ops.geometry import outpaint_pads
from .ops.text import rgb_of, text_mask
from .specs import (
    AddTextSpec,
    CartoonSpec,
    EraSpec,
    GrainSpec,
    LightingSpec,
    OutpaintSpec,
    PaintSpec,
    ReplaceTextSpec,
    SeasonSpec,
    Spec,
    TextColorSpec,
    ToneSpec,
    WeatherSpec,
    ZoomSpec,
    box_of,
)


@dataclass
class Verdict:
    score: float
    values: dict[str, float | str] = field(default_factory=dict)
    # Geometry for the judge: ("zoom", x0, y0, x1, y1) crop of the original; ("outpaint", left, top) offset of
    # the original in the output; ("box", x0, y0, x1, y1) changed region in original pixels.
    region: tuple | None = None


def _r(x: float) -> float:
    return round(float(x), 3)


def _lab_means(img):
    lab = rgb_to_lab(img)
    return lab[..., 0].mean(), lab[..., 1].mean(), lab[..., 2].mean(), lab


def _same_size(a, b):
    return b if a.shape == b.shape else cv2.resize(b, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_AREA)


# -- global colour -----------------------------------------------------------------------------------------


def tone(spec: ToneSpec, a, b) -> Verdict:
    _, aa, ba, _ = _lab_means(a)
    _, ab, bb, _ = _lab_means(b)
    shift = (bb - ba) + 0.3 * (ab - aa)
    signed = shift if spec.direction == "warm" else -shift
    return Verdict(ramp(signed, 2, 8), {"Δb*": _r(bb - ba), "Δa*": _r(ab - aa), "warm_shift": _r(shift)})


def lighting(spec: LightingSpec, a, b) -> Verdict:
    La, aa, ba, _ = _lab_means(a)
    Lb, ab, bb, _ = _lab_means(b)
    dL, da, db = Lb - La, ab - aa, bb - ba
    values = {"ΔL*": _r(dL), "Δa*": _r(da), "Δb*": _r(db)}
    if spec.mode == "golden hour":
        score = ramp(db + 0.3 * da, 3, 10) * ramp(dL, -6, -1)
    elif spec.mode == "fluorescent":
        score = ramp(-db - 0.5 * da, 2, 8) * ramp(dL, -3, 2)
    else:  # dusk
        score = ramp(1 - Lb / (La + 1e-6), 0.15, 0.3) * (0.5 + 0.5 * ramp(-db, 0, 4))
    return Verdict(score, values)


def _chroma(lab) -> float:
    return float(np.hypot(lab[..., 1], lab[..., 2]).mean())


def season(spec: SeasonSpec, a, b) -> Verdict:
    _, aa, ba, la = _lab_means(a)
    _, ab, bb, lb = _lab_means(b)
    ca, cb = _chroma(la), _chroma(lb)
    if spec.to == "winter":
        def bluewhite(lab):
            return float(((lab[..., 0] > 60) & (np.hypot(lab[..., 1], lab[..., 2]) < 18) & (lab[..., 2] < 5)).mean())
        frac_a, frac_b = bluewhite(la), bluewhite(lb)
        La, Lb = float(la[..., 0].mean()), float(lb[..., 0].mean())
        drop = 1 - cb / (ca + 1e-6)
        colder = max(ramp(drop, 0.2, 0.5), ramp(ba - bb, 2, 5))
        # Whiter: brighter overall, or more blue-white pixels and not darker (a cool cast alone also turns
        # whites bluish and can wash out warm colours, but it does not add light).
        whiter = max(ramp(Lb - La, 3, 8), ramp(frac_b - frac_a, 0.05, 0.15) * ramp(Lb - La, 0, 3))
        score = whiter * colder  # both: a plain cool grade is colder but not whiter
        return Verdict(score, {"blue_white_before": _r(frac_a), "blue_white_after": _r(frac_b), "ΔL*": _r(Lb - La),
                               "Δb*": _r(bb - ba),
                               "chroma_before": _r(ca), "chroma_after": _r(cb)})
    if spec.to == "summer":
        # Lush colour across all hues: the typical pixel's chroma grows (a warm cast only grows the warm ones).
        ca_px, cb_px = np.hypot(la[..., 1], la[..., 2]), np.hypot(lb[..., 1], lb[..., 2])
        coloured = ca_px > 5
        gain = float(np.median(cb_px[coloured] / ca_px[coloured])) if coloured.any() else 1.0
        # Same hues, richer: a warm cast turns hues toward yellow, summer grading keeps them.
        turn = np.abs(np.angle(np.exp(1j * (np.arctan2(lb[..., 2], lb[..., 1]) - np.arctan2(la[..., 2], la[..., 1])))))
        hue_turn = float(np.degrees(np.median(turn[coloured]))) if coloured.any() else 0.0
        score = ramp(gain - 1, 0.1, 0.25) * ramp(hue_turn, 15, 8)
        return Verdict(score, {"chroma_before": _r(ca), "chroma_after": _r(cb), "median_chroma_gain": _r(gain),
                               "median_hue_turn_deg": _r(hue_turn), "Δb*": _r(bb - ba)})

    def foliage(img):
        h = hsv(img)
        sat = h[..., 1] > 0.25
        return float((sat & (h[..., 0] >= 10) & (h[..., 0] <= 45)).mean()), float(
            (sat & (h[..., 0] > 70) & (h[..., 0] < 160)).mean())
    orange_a, green_a = foliage(a)
    orange_b, green_b = foliage(b)
    warm = (bb - ba) + 0.3 * (ab - aa)
    score = max(ramp((orange_b - orange_a) + (green_a - green_b), 0.04, 0.15), ramp(warm, 5, 12))
    return Verdict(score, {"orange_before": _r(orange_a), "orange_after": _r(orange_b), "green_before": _r(green_a),
                           "green_after": _r(green_b), "warm_shift": _r(warm)})


def era(spec: EraSpec, a, b) -> Verdict:
    la = rgb_to_lab(a)
    _, _, bb, lb = _lab_means(b)
    spread_a = float(la[..., 1].std() + la[..., 2].std())
    spread_b = float(lb[..., 1].std() + lb[..., 2].std())
    if spec.to == "historical":
        score = ramp(1 - spread_b / (spread_a + 1e-6), 0.3, 0.5) * ramp(bb, 4, 8)  # muted and warm-tinted
        return Verdict(score, {"colour_spread_before": _r(spread_a), "colour_spread_after": _r(spread_b),
                               "mean_b*_after": _r(bb)})
    ca, cb = _chroma(la), _chroma(lb)
    ga, gb = gray(a), gray(b)
    lc_a = float(np.abs(ga - cv2.GaussianBlur(ga, (0, 0), 3)).mean())
    lc_b = float(np.abs(gb - cv2.GaussianBlur(gb, (0, 0), 3)).mean())
    score = ramp(cb / (ca + 1e-6) - 1, 0.08, 0.2) * ramp(lc_b / (lc_a + 1e-6) - 1, 0.05, 0.2)
    return Verdict(score, {"chroma_before": _r(ca), "chroma_after": _r(cb), "local_contrast_before": _r(lc_a),
                           "local_contrast_after": _r(lc_b)})


# -- texture / style ----------------------------------------------------------------------------------------


def grain(spec: GrainSpec, a, b) -> Verdict:
    # Grain is per-pixel: measured at full resolution (downscaling would average it away).
    b = _same_size(a, b)
    na, nb = noise(a), noise(b)
    grain_score = ramp(nb - na, 0.004, 0.012)
    values = {"noise_σ_before": _r(na), "noise_σ_after": _r(nb)}
    if spec.look == "film grain":
        return Verdict(grain_score, values)
    sa, sb = small(a), small(b)
    la, lb = rgb_to_lab(sa), rgb_to_lab(sb)
    # Faded colour: the spread of a*/b* across the picture shrinks (a plain cast would only shift it).
    spread_a = float(la[..., 1].std() + la[..., 2].std())
    spread_b = float(lb[..., 1].std() + lb[..., 2].std())
    drop = 1 - spread_b / (spread_a + 1e-6)
    faded = ramp(drop, 0.2, 0.35)
    values.update(colour_spread_drop=_r(drop))
    return Verdict(0.5 * grain_score + 0.5 * faded, values)


def weather(spec: WeatherSpec, a, b) -> Verdict:
    ga, gb = gray(a), gray(b)
    if spec.kind == "rain":
        p = np.maximum(gb - ga * (gb.mean() / (ga.mean() + 1e-6)), 0)  # bright additions after the darkening
        gx = float(np.abs(np.diff(p, axis=1)).mean())
        gy = float(np.abs(np.diff(p, axis=0)).mean())
        aniso = gx / (gy + 1e-6)
        score = ramp(aniso, 1.3, 2.0) * ramp(float(p.mean()), 0.004, 0.015)
        return Verdict(score, {"streak_anisotropy": _r(aniso), "streak_energy": _r(p.mean())})
    if spec.kind == "snow":
        flakes = ((gb - ga) > 0.15) & (gb > 0.7)
        _, _, stats, _ = cv2.connectedComponentsWithStats(flakes.astype(np.uint8), connectivity=8)
        small_blobs = int(((stats[1:, cv2.CC_STAT_AREA] >= 1) & (stats[1:, cv2.CC_STAT_AREA] <= 80)).sum())
        density = small_blobs / (ga.size / 10_000)
        return Verdict(ramp(density, 3, 10), {"flakes_per_10k_px": _r(density)})
    contrast = float(gb.std() / (ga.std() + 1e-6))
    dark_a, dark_b = float(a.min(axis=2).mean() / 255), float(b.min(axis=2).mean() / 255)
    score = ramp(1 - contrast, 0.2, 0.45) * ramp(dark_b - dark_a, 0.05, 0.15)
    return Verdict(score, {"contrast_ratio": _r(contrast), "dark_channel_before": _r(dark_a),
                           "dark_channel_after": _r(dark_b)})


def _coarse_similarity(a, b) -> float:
    ga = cv2.GaussianBlur(gray(a), (0, 0), 4)
    gb = cv2.GaussianBlur(gray(b), (0, 0), 4)
    return float(np.corrcoef(ga.ravel(), gb.ravel())[0, 1])


def _tile_correlation(x: np.ndarray, y: np.ndarray, tile: int = 32) -> float:
    """Median over tiles of the correlation of two detail maps: a few strong, preserved outlines (a sign, a
    horizon) must not hide that the texture everywhere else was repainted."""
    h, w = x.shape
    values = []
    for ty in range(0, h - tile + 1, tile):
        for tx in range(0, w - tile + 1, tile):
            px, py = x[ty:ty + tile, tx:tx + tile].ravel(), y[ty:ty + tile, tx:tx + tile].ravel()
            if px.std() > 1e-4 and py.std() > 1e-4:
                values.append(float(np.corrcoef(px, py)[0, 1]))
    return float(np.median(values)) if values else 1.0


def paint(spec: PaintSpec, a, b) -> Verdict:
    ha, hb = hf(a, 1.5), hf(b, 1.5)
    corr = _tile_correlation(ha, hb)
    ratio = float(hb.std() / (ha.std() + 1e-6))
    coarse = _coarse_similarity(a, b)
    restyled = ramp(0.8 - corr, 0.05, 0.25) * ramp(coarse, 0.4, 0.6)
    if spec.style == "pointillism":
        texture = ramp(0.45 - corr, 0.05, 0.15)  # dots replace the fine detail entirely
    elif spec.style == "watercolor":
        # thin washes (less saturated), and no new black ink lines (that is a cartoon, not a watercolor)
        new_ink = float((gray(b) < 0.12).mean() - (gray(a) < 0.12).mean())
        texture = ramp(1 - hsv(b)[..., 1].mean() / (hsv(a)[..., 1].mean() + 1e-6), 0.1, 0.25) * ramp(new_ink, 0.04, 0.01)
    else:
        texture = ramp(1 - ratio, -0.1, 0.1)  # oil: dabs and strokes, not added noise (grain raises the ratio)
    return Verdict(restyled * texture, {"hf_tile_correlation": _r(corr), "hf_ratio": _r(ratio),
                                        "coarse_correlation": _r(coarse)})


def _palette_coverage(img, top: int = 24) -> float:
    q = (img >> 4).astype(np.int32)
    keys = q[..., 0] * 256 + q[..., 1] * 16 + q[..., 2]
    counts = np.bincount(keys.ravel(), minlength=4096)
    return float(np.sort(counts)[-top:].sum() / keys.size)


def cartoon(spec: CartoonSpec, a, b) -> Verdict:
    sa, sb = float(hsv(a)[..., 1].mean()), float(hsv(b)[..., 1].mean())
    ink = float((gray(b) < 0.2).mean())
    if spec.style == "sketch":
        vb = float(gray(b).mean())
        score = ramp(sa - sb, 0.05, 0.15) * ramp(sb, 0.08, 0.03) * ramp(vb, 0.5, 0.65)
        return Verdict(score, {"saturation_before": _r(sa), "saturation_after": _r(sb), "brightness_after": _r(vb)})
    cov_a, cov_b = _palette_coverage(a), _palette_coverage(b)
    coarse = _coarse_similarity(a, b)
    # Flat colour: the share of pixels outside the 24 main colours at least halves (photos vary a lot here).
    flattened = 1 - (1 - cov_b) / (1 - cov_a + 1e-6)
    score = ramp(flattened, 0.3, 0.5) * ramp(sb, 0.08, 0.15) * ramp(coarse, 0.4, 0.6)
    values = {"palette_coverage_before": _r(cov_a), "palette_coverage_after": _r(cov_b),
              "saturation_after": _r(sb), "ink_fraction": _r(ink)}
    if spec.style == "comic":
        score *= ramp(ink, 0.05, 0.12)
    return Verdict(score, values)


# -- geometry -----------------------------------------------------------------------------------------------


def _match(haystack: np.ndarray, needle: np.ndarray) -> tuple[float, tuple[int, int]]:
    if needle.shape[0] > haystack.shape[0] or needle.shape[1] > haystack.shape[1]:
        return -1.0, (0, 0)
    res = cv2.matchTemplate(haystack, needle, cv2.TM_CCOEFF_NORMED)
    _, best, _, loc = cv2.minMaxLoc(res)
    return float(best), loc


def zoom(spec: ZoomSpec, a, b) -> Verdict:
    h, w = a.shape[:2]
    if abs((b.shape[1] / b.shape[0]) / (w / h) - 1) > 0.03:
        return Verdict(0.0, {"aspect_before": _r(w / h), "aspect_after": _r(b.shape[1] / b.shape[0])})
    ga = gray(small(a, 160))
    gb = gray(cv2.resize(b, (ga.shape[1], ga.shape[0]), interpolation=cv2.INTER_AREA))
    best = (-1.0, 1.0, (0, 0))
    for f in np.arange(1.0, 3.01, 0.05):
        tw, th = round(ga.shape[1] / f), round(ga.shape[0] / f)
        if tw < 16 or th < 16:
            break
        score, loc = _match(ga, cv2.resize(gb, (tw, th), interpolation=cv2.INTER_AREA))
        if score > best[0] + 1e-3:
            best = (score, float(f), loc)
    match, f_est, (x, y) = best
    s = w / ga.shape[1]
    region = ("zoom", round(x * s), round(y * s), round((x + ga.shape[1] / f_est) * s),
              round((y + ga.shape[0] / f_est) * s))
    agree = ramp(abs(np.log(f_est / spec.factor)), 0.35, 0.2)  # within ~±20 % of the asked factor
    score = ramp(f_est, 1.08, 1.2) * ramp(match, 0.6, 0.85) * agree
    return Verdict(score, {"zoom_estimated": _r(f_est), "zoom_requested": _r(spec.factor), "match": _r(match)},
                   region)


def outpaint(spec: OutpaintSpec, a, b) -> Verdict:
    h, w = a.shape[:2]
    H, W = b.shape[:2]
    growth = max(W / w, H / h)
    values: dict = {"size_before": f"{w}x{h}", "size_after": f"{W}x{H}", "growth": _r(growth)}
    if W < w or H < h or growth < 1.02:
        return Verdict(0.0, values)
    scale = min(1.0, 160 / max(W, H))
    sa = cv2.resize(a, (max(8, round(w * scale)), max(8, round(h * scale))), interpolation=cv2.INTER_AREA)
    sb = cv2.resize(b, (max(8, round(W * scale)), max(8, round(H * scale))), interpolation=cv2.INTER_AREA)
    match, (x, y) = _match(gray(sb), gray(sa))
    left, top = round(x / scale), round(y / scale)
    # Refine the coarse location at up to 1024 px (a pixel off at judge size would wreck preservation SSIM).
    fs = min(1.0, 1024 / max(W, H))
    fa = a if fs == 1 else cv2.resize(a, (round(w * fs), round(h * fs)), interpolation=cv2.INTER_AREA)
    fb = b if fs == 1 else cv2.resize(b, (round(W * fs), round(H * fs)), interpolation=cv2.INTER_AREA)
    r = int(np.ceil(fs / scale)) + 2
    cx, cy = round(left * fs), round(top * fs)
    wx0, wy0 = max(0, cx - r), max(0, cy - r)
    window = gray(fb[wy0:min(fb.shape[0], cy + fa.shape[0] + r), wx0:min(fb.shape[1], cx + fa.shape[1] + r)])
    fine, (fx, fy) = _match(window, gray(fa))
    if fine > 0:
        left, top, match = round((wx0 + fx) / fs), round((wy0 + fy) / fs), max(match, fine)
    added = np.ones((H, W), bool)
    added[top:top + h, left:left + w] = False
    fill_std = float(gray(b)[added].std()) if added.any() else 0.0
    expected = outpaint_pads(w, h, spec)
    found = (left, top, W - w - left, H - h - top)
    # Each side must have grown as asked (not grown if not asked), within 10 % of that dimension.
    tolerance = (0.1 * w, 0.1 * h, 0.1 * w, 0.1 * h)
    agree = 1.0 if all(abs(f - e) <= t + 2 for f, e, t in zip(found, expected, tolerance)) else 0.2
    values.update(match=_r(match), fill_std=_r(fill_std), added_ltrb=str(found), asked_ltrb=str(expected))
    score = ramp(growth - 1, 0.04, 0.12) * ramp(match, 0.7, 0.9) * ramp(fill_std, 0.01, 0.03) * agree
    return Verdict(score, values, ("outpaint", left, top))


# -- text ---------------------------------------------------------------------------------------------------


def _ocr(img):
    from .analysis import ocr

    return ocr(Image.fromarray(img))


def _best(lines, wanted: str):
    scored = [(difflib.SequenceMatcher(None, wanted.casefold(), t.text.casefold()).ratio(), t) for t in lines]
    return max(scored, key=lambda s: s[0], default=(0.0, None))


def _delta_e(rgb1, rgb2) -> float:
    la = rgb_to_lab(np.array([[rgb1]], np.uint8))[0, 0]
    lb = rgb_to_lab(np.array([[rgb2]], np.uint8))[0, 0]
    return float(np.linalg.norm(la - lb))


def _glyph_colour(img, box) -> tuple[int, int, int] | None:
    mask = text_mask(img, box)
    if not mask.any():
        return None
    return tuple(int(v) for v in np.median(img[mask], axis=0))


def add_text(spec: AddTextSpec, a, b) -> Verdict:
    before, after = _ocr(a), _ocr(b)
    sim_b, line = _best(after, spec.text)
    sim_a, _ = _best(before, spec.text)
    values: dict = {"ocr_after": " | ".join(t.text for t in after)[:80], "similarity": _r(sim_b)}
    score = ramp(sim_b, 0.6, 0.85) * ramp(sim_b - sim_a, 0.2, 0.5)
    region = None
    if line is not None:
        region = ("box", *box_of(line))
        # Colour: share of the text box painted near the requested colour, against the same box before.
        x0, y0, x1, y1 = box_of(line)
        target = rgb_to_lab(np.array([[rgb_of(spec.color)]], np.uint8))[0, 0]

        def share(img):
            lab = rgb_to_lab(img[y0:y1, x0:x1])
            return float((np.linalg.norm(lab - target, axis=2) < 25).mean()) if lab.size else 0.0
        gained = share(b) - share(_same_size(b, a)) if a.shape == b.shape else share(b)
        values["colour_share_gained"] = _r(gained)
        score *= 1.0 if gained >= 0.05 else 0.6
    return Verdict(score, values, region)


def replace_text(spec: ReplaceTextSpec, a, b) -> Verdict:
    after = _ocr(b)
    sim_new, line = _best(after, spec.new)
    sim_old, _ = _best(after, spec.old)
    values = {"ocr_after": " | ".join(t.text for t in after)[:80], "new_similarity": _r(sim_new),
              "old_similarity": _r(sim_old)}
    score = ramp(sim_new, 0.6, 0.85) * (1.0 if sim_old < 0.8 or spec.old.casefold() in spec.new.casefold() else 0.3)
    region = ("box", *spec.box) if spec.box else (("box", *box_of(line)) if line is not None else None)
    return Verdict(score, values, region)


def text_colour(spec: TextColorSpec, a, b) -> Verdict:
    box = spec.box
    if box is None:
        lines = _ocr(a)
        if spec.text:
            _, line = _best(lines, spec.text)
        else:
            line = max(lines, key=lambda t: t.score, default=None)
        if line is None:
            return Verdict(0.0, {"ocr": "no text found"})
        box = box_of(line)
    b = _same_size(a, b)
    # The glyphs are found in the original (a recoloured glyph may no longer separate from its plate by
    # brightness alone); a colour edit leaves them where they were.
    mask = text_mask(a, box)
    ca = tuple(int(v) for v in np.median(a[mask], axis=0)) if mask.any() else None
    cb = tuple(int(v) for v in np.median(b[mask], axis=0)) if mask.any() else None
    if ca is None or cb is None:
        return Verdict(0.0, {"glyphs": "none found in box"}, ("box", *box))
    target = rgb_of(spec.color)
    de_a, de_b = _delta_e(ca, target), _delta_e(cb, target)
    score = ramp(30 - de_b, 0, 15) * ramp(de_a - de_b, 10, 25)
    return Verdict(score, {"glyph_ΔE_to_target_before": _r(de_a), "glyph_ΔE_to_target_after": _r(de_b)},
                   ("box", *box))


VERIFIERS = {
    ToneSpec: tone, LightingSpec: lighting, SeasonSpec: season, EraSpec: era, GrainSpec: grain,
    WeatherSpec: weather, PaintSpec: paint, CartoonSpec: cartoon, ZoomSpec: zoom, OutpaintSpec: outpaint,
    AddTextSpec: add_text, ReplaceTextSpec: replace_text, TextColorSpec: text_colour,
}
# Text verifiers read with OCR and need full resolution; the others run on the judge's small size.
FULL_RESOLUTION = (GrainSpec, AddTextSpec, ReplaceTextSpec, TextColorSpec, ZoomSpec, OutpaintSpec)


def verify(spec: Spec, original: np.ndarray, edited: np.ndarray) -> Verdict:
    fn = VERIFIERS[type(spec)]
    if isinstance(spec, FULL_RESOLUTION):
        return fn(spec, original, edited)
    a = small(original)
    return fn(spec, a, _same_size(a, edited))
