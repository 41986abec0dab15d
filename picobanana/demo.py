"""`picobanana demo`: fill a workspace with real data on a fresh install — no keys, no downloads.

The photos ship inside the scikit-image wheel (credited in DEMO_PHOTOS and assets/CREDITS.md). They go
through the same ingest and the same pipeline as any job, with the embedded `local` backend for all four
roles, so the workspace ends up with single-turn edits, preference pairs (failed attempts before a kept one)
and multi-turn chains to browse, judge and export.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from picobanana.pipeline import jobs
from picobanana.pipeline.runner import JobSummary, resolve_policy, run_job, summarize
from picobanana.pipeline.spec import ChainSettings, EditMix, JobSpec, RoleSettings
from picobanana.store import Store


@dataclass(frozen=True)
class DemoPhoto:
    name: str  # the skimage.data loader
    title: str
    license: str


DEMO_PHOTOS = (
    DemoPhoto("chelsea", "Chelsea the cat, by Stefan van der Walt", "CC0"),
    DemoPhoto("coffee", "Coffee cup, by Rachel Michetti", "CC0"),
    DemoPhoto("astronaut", "Eileen Collins, NASA", "public domain"),
    DemoPhoto("rocket", "Falcon 9 launch, SpaceX", "public domain"),
    DemoPhoto("text", "Road-sign text, scikit-image sample", "public domain"),
)


def demo_photo_png(photo: DemoPhoto) -> bytes:
    import skimage.data

    pixels = getattr(skimage.data, photo.name)()
    if pixels.ndim == 2:  # grayscale samples become RGB photos
        pixels = np.stack([pixels] * 3, axis=-1)
    image = Image.fromarray(pixels.astype(np.uint8), "RGB")
    if max(image.size) < 600:  # OCR and the text edits need some room; upscaling is harmless here
        scale = 600 / max(image.size)
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def demo_spec(source_ids: list[int], *, chains: int = 3, seed: int = 0) -> JobSpec:
    """Every type the local backend can do on every demo photo, 3 attempts each, plus a few chains."""
    from picobanana.backends.local.specs import SUPPORTED

    roles = {role: RoleSettings(backend="local", concurrency=2) for role in ("writer", "rewriter", "editor", "judge")}
    return JobSpec(source_ids=source_ids, mix=EditMix(kind="each", type_ids=sorted(SUPPORTED)), roles=roles,
                   attempts=3, seed=seed, chains=ChainSettings(n_chains=chains, min_turns=2, max_turns=4))


def run_demo(store: Store, *, chains: int = 3, seed: int = 0,
             progress: Callable[[str, int, int], None] | None = None) -> JobSummary:
    from picobanana.io.ingest import ingest_bytes

    source_ids = [ingest_bytes(store, demo_photo_png(photo), uri=f"skimage:{photo.name}", origin="demo",
                               license=f"{photo.license} — {photo.title} (scikit-image sample data)")
                  for photo in DEMO_PHOTOS]
    spec = demo_spec(source_ids, chains=chains, seed=seed)
    # The same demo twice is one job: finished → report it again; interrupted → resume it.
    earlier = next((job for job in jobs.list_jobs(store) if job.spec == spec), None)
    if earlier is not None and earlier.status == "done":
        return summarize(store, earlier.id, resolve_policy(store, spec), "done")
    job_id = earlier.id if earlier is not None else jobs.create_job(store, spec)
    return run_job(store, job_id, progress=progress)
