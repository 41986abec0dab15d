"""LocalJudge: a metric judge — four sub-scores from measurements, never from a model's opinion.

    compliance    per-type verifier (verifiers.py) on the spec from the hint or parsed from the instruction
    preservation  SSIM outside the changed region (local edits), of the matching region (zoom, outpaint), or of
                  blurred, normalised structure (global edits: the scene must stay the same scene)
    quality       1 − penalties for noise (except when grain was asked), new clipping, JPEG blockiness, blur
    seamlessness  extra gradient on the boundary of the changed region / outpaint seam; global edits have no
                  boundary and only lose for blockiness
    overall       the paper policy's weighted score (0.40 / 0.25 / 0.20 / 0.15)
"""

from __future__ import annotations

import asyncio

import cv2
import numpy as np

from picobanana.backends.base import JudgeRequest, JudgeResult
from picobanana.store.policies import Policy

from . import image_bytes, metrics
from .editor import resolve_spec
from .metrics import ramp, small
from .specs import GrainSpec, OutpaintSpec, Spec
from .verifiers import Verdict, verify

MODEL = "picobanana-local-metric-judge"
VERSION = "1"
PAPER = Policy()
NEUTRAL = 0.5  # compliance for types without a verifier: unmeasured, said so in the rationale


def _aligned(original: np.ndarray, edited: np.ndarray, verdict: Verdict) -> tuple[np.ndarray, np.ndarray]:
    """The pair of images that should match: for zoom the original's crop vs the output, for outpainting the
    original vs its place in the output, otherwise the output brought to the original's size."""
    region = verdict.region
    if region and region[0] == "zoom":
        _, x0, y0, x1, y1 = region
        crop = original[y0:max(y1, y0 + 8), x0:max(x1, x0 + 8)]
        return crop, metrics.resize_to(edited, crop.shape)
    if region and region[0] == "outpaint":
        _, left, top = region
        h, w = original.shape[:2]
        inner = edited[top:top + h, left:left + w]
        if inner.shape[:2] == (h, w):
            return original, inner
    return original, metrics.resize_to(edited, original.shape)


def _box_mask(shape, region, pad_frac: float = 0.03) -> np.ndarray | None:
    if not region or region[0] != "box":
        return None
    h, w = shape[:2]
    pad = int(max(h, w) * pad_frac)
    _, x0, y0, x1, y1 = region
    mask = np.zeros((h, w), bool)
    mask[max(0, y0 - pad):min(h, y1 + pad), max(0, x0 - pad):min(w, x1 + pad)] = True
    return mask


def score_pair(original: np.ndarray, edited: np.ndarray, spec: Spec | None, edit_type_id: int) -> JudgeResult:
    notes: list[str] = []
    unchanged = original.shape == edited.shape and float(
        np.abs(original.astype(np.int16) - edited.astype(np.int16)).mean()) < 0.5
    if spec is None and unchanged:
        # Whatever was asked, returning the input did not do it.
        verdict = Verdict(0.0, {}, None)
        notes.append("compliance 0.00 (no verifier for this type/instruction, but the output equals the input)")
    elif spec is None:
        verdict = Verdict(NEUTRAL, {}, None)
        notes.append(f"compliance {NEUTRAL:.2f}: no verifier for edit type {edit_type_id} or unreadable instruction"
                     " (not measured)")
    else:
        verdict = verify(spec, original, edited)
        shown = ", ".join(f"{k}={v}" for k, v in verdict.values.items())
        notes.append(f"compliance {verdict.score:.2f} ({type(spec).__name__}: {shown})")

    a, b = _aligned(original, edited, verdict)
    mask = _box_mask(a.shape, verdict.region)
    sa, sb = small(a), small(metrics.resize_to(b, a.shape))
    small_mask = None if mask is None else cv2.resize(mask.astype(np.uint8), (sa.shape[1], sa.shape[0])) > 0

    # preservation
    if small_mask is not None and (~small_mask).any():
        ssim = float(metrics.ssim_map(sa, sb)[~small_mask].mean())
        what = "SSIM outside the edited box"
    elif verdict.region and verdict.region[0] in ("zoom", "outpaint"):
        ssim = float(metrics.ssim_map(sa, sb).mean())
        what = "SSIM of the corresponding region"
    else:
        ssim = float(metrics.ssim_map(sa, sb, blur=2.0).mean())
        what = "structural SSIM (blurred, normalised)"
    preservation = float(np.clip(ssim, 0, 1))
    notes.append(f"preservation {preservation:.2f} ({what}={ssim:.3f})")

    # technical quality (on the edited image at the judge's size)
    se = small(edited)
    so = small(original)
    sigma, sigma_in = metrics.noise(se), metrics.noise(so)
    clip_in, clip_out = metrics.clipping(so), metrics.clipping(se)
    block = metrics.blockiness(edited)
    sharp_ratio = metrics.sharpness(se) / (metrics.sharpness(so) + 1e-9)
    noise_allow = 0.12 if isinstance(spec, GrainSpec) else 0.03
    penalties = {
        "noise": 0.4 * ramp(sigma - sigma_in, noise_allow, noise_allow + 0.08),
        "clipping": 0.3 * ramp(clip_out - clip_in, 0.03, 0.25),
        "blockiness": 0.3 * ramp(block, 1.25, 2.0),
        "blur": 0.2 * ramp(sharp_ratio, 0.25, 0.05),
    }
    quality = float(np.clip(1 - sum(penalties.values()), 0, 1))
    notes.append(f"quality {quality:.2f} (noise σ {sigma_in:.3f}→{sigma:.3f}, clipped {clip_in:.3f}→{clip_out:.3f},"
                 f" blockiness {block:.2f}, sharpness ratio {sharp_ratio:.2f})")

    # seamlessness
    if isinstance(spec, OutpaintSpec) and verdict.region and verdict.region[0] == "outpaint":
        _, left, top = verdict.region
        h, w = original.shape[:2]
        inner = np.zeros(edited.shape[:2], bool)
        inner[top:top + h, left:left + w] = True
        reference = edited.copy()
        reference[~inner] = cv2.GaussianBlur(edited, (0, 0), 3)[~inner]  # same content without a hard seam
        excess = metrics.boundary_excess(reference, edited, inner)
        seam = 1 - ramp(excess, 0.03, 0.15)
        notes.append(f"seamlessness {seam:.2f} (extra gradient on the outpaint seam {excess:.3f})")
    elif mask is not None:
        excess = metrics.boundary_excess(a, metrics.resize_to(b, a.shape), mask)
        seam = 1 - ramp(excess, 0.03, 0.15)
        notes.append(f"seamlessness {seam:.2f} (extra gradient on the edit box boundary {excess:.3f})")
    else:
        seam = 1 - ramp(block, 1.25, 2.0)
        notes.append(f"seamlessness {seam:.2f} (global edit: no boundary; blockiness {block:.2f})")
    seam = float(seam)

    subscores = (float(verdict.score), seam, preservation, quality)
    overall = float(np.clip(PAPER.score(subscores), 0, 1))
    notes.append(f"overall {overall:.3f} (paper weights)")
    return JudgeResult(compliance=subscores[0], seamlessness=seam, preservation=preservation, quality=quality,
                       overall=overall, rationale="; ".join(notes), model=MODEL, model_version=VERSION,
                       prompt_version=None)


class LocalJudge:
    name = "local"

    async def judge(self, request: JudgeRequest) -> JudgeResult:
        return await asyncio.to_thread(self.judge_sync, request)

    def judge_sync(self, request: JudgeRequest) -> JudgeResult:
        """Raises image_bytes.BadImage for undecodable inputs (the pipeline records that as an error)."""
        original = image_bytes.decode(request.original)
        edited = image_bytes.decode(request.edited)
        spec = resolve_spec(request.edit_type_id, request.hint, request.instruction)
        return score_pair(original, edited, spec, request.edit_type_id)
