"""Local backend throughput: edit + judge attempts/s per edit type on real photos (scikit-image, CC0).

Each attempt = decode PNG → edit (LocalEditor) → judge (LocalJudge, metric verifiers) on one core, as the
pipeline would run it through asyncio.to_thread. Photos: astronaut 512², chelsea 451×300, coffee 600×400,
rocket 640×427 (plus a 640×427 "sign" version of rocket for the text types, which need visible text).

    python bench/bench_local.py [--rounds N] [--types 1,2,...]
"""

from __future__ import annotations

import argparse
import io
import random
import time

import numpy as np
from PIL import Image, ImageDraw
from skimage import data

from picobanana.backends.base import EditRequest, JudgeRequest
from picobanana.backends.local.editor import LocalEditor
from picobanana.backends.local.judge import LocalJudge
from picobanana.backends.local.ops.text import font
from picobanana.backends.local.specs import SUPPORTED, ReplaceTextSpec, TextColorSpec, sample_spec
from picobanana.taxonomy import edit_type_by_id

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")
SIGN_BOX = (160, 150, 480, 250)


def png(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def sign_photo() -> np.ndarray:
    pil = Image.fromarray(data.rocket())
    draw = ImageDraw.Draw(pil)
    draw.rectangle(SIGN_BOX, fill=(245, 240, 225))
    draw.text((190, 165), "LAUNCH", font=font(56), fill=(20, 20, 20))
    return np.asarray(pil)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2, help="passes over the photos per type")
    parser.add_argument("--types", default=",".join(str(t) for t in sorted(SUPPORTED)))
    args = parser.parse_args()
    editor, judge = LocalEditor(), LocalJudge()
    photos = {name: png(getattr(data, name)()) for name in PHOTOS}
    sign = png(sign_photo())
    rng = random.Random(0)
    # Warm the OCR model outside the timings (a one-off ~1 s load per process).
    judge.judge_sync(JudgeRequest(original=sign, edited=sign, instruction="x", edit_type_id=17,
                                  hint={"text": "HELLO"}))
    print(f"{'type':>4}  {'edit type':<58} {'n':>3} {'edit s':>7} {'judge s':>8} {'attempts/s':>10} {'kept':>5}")
    for t in [int(x) for x in args.types.split(",")]:
        sources = [sign] if t in (16, 18) else list(photos.values())
        edit_s = judge_s = 0.0
        n = kept = 0
        for _ in range(args.rounds):
            for image in sources:
                spec = sample_spec(t, rng, None) if t not in (16, 18) else (
                    ReplaceTextSpec(old="LAUNCH", new=rng.choice(["SALE", "OPEN", "HOTEL"]), box=SIGN_BOX) if t == 16
                    else TextColorSpec(color=rng.choice(["red", "blue", "green"]), box=SIGN_BOX))
                hint = spec.model_dump()
                t0 = time.perf_counter()
                result = editor.edit_sync(EditRequest(image=image, instruction="", edit_type_id=t, hint=hint))
                t1 = time.perf_counter()
                verdict = judge.judge_sync(JudgeRequest(original=image, edited=result.image, instruction="",
                                                        edit_type_id=t, hint=hint))
                t2 = time.perf_counter()
                edit_s += t1 - t0
                judge_s += t2 - t1
                n += 1
                kept += verdict.overall >= 0.7
        name = edit_type_by_id(t).name[:58]
        print(f"{t:>4}  {name:<58} {n:>3} {edit_s / n:>7.3f} {judge_s / n:>8.3f} {n / (edit_s + judge_s):>10.2f} "
              f"{kept:>2}/{n}")


if __name__ == "__main__":
    main()
