"""Generate large, realistic Pico-Banana JSONL files (sft, preference, multi-turn) for benchmarks.

    python bench/make_pico_jsonl.py sft bench/out/sft-400k.jsonl -n 400000 [--seed 0]
    python bench/make_pico_jsonl.py preference OUT -n 56000
    python bench/make_pico_jsonl.py multi-turn OUT -n 72000

Or from Python (run from bench/ or put it on sys.path): `write_sft(path, n, seed=0)`, `write_preference`,
`write_multi_turn`; each returns the number of bytes written.

Lines reuse the instructions of the real sample records in the shared fixtures, cycle through all 35 edit
types (weighted like the release's SFT counts), and get unique output paths (plain integers and `_retry<k>`
ids, as in the release) and varied Flickr-shaped source URLs (a few sources shared by several edits). They
are written like the release: `json.dumps` defaults, key order per file kind, `\\u2194`-style escapes.
Deterministic for a given (n, seed).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import string
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from picobanana.taxonomy import EDIT_TYPES

FIXTURES = Path(os.environ.get("PICOBANANA_FIXTURES", ROOT.parent / "shared" / "fixtures" / "pico-banana"))
_ID_CHARS = string.ascii_lowercase + string.digits


def _samples() -> tuple[list[dict], list[str]]:
    def records(name: str) -> list[dict]:
        lines = (FIXTURES / f"{name}-sample.jsonl").read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    sft, pref, turns = records("sft"), records("preference"), records("multi-turn")
    prompts = [p for record in turns for p in record["metadata_edit_turn_prompts"]]
    return sft + pref, prompts


def _flickr_url(rng: random.Random, i: int) -> str:
    host = f"farm{rng.randint(1, 9)}" if rng.random() < 0.6 else f"c{rng.randint(1, 8)}"
    return (f"https://{host}.staticflickr.com/{rng.randint(1, 9999)}/{10_000_000 + i * 7919 % 90_000_000}"
            f"_{rng.getrandbits(40):010x}_o.jpg")


def _short_id(rng: random.Random) -> str:
    return "k" + "".join(rng.choice(_ID_CHARS) for _ in range(5))


def _edit_fields(rng: random.Random, samples: list[dict], i: int, sources: list[str]) -> dict:
    sample = samples[i % len(samples)]
    edit_type = rng.choices(EDIT_TYPES, weights=[t.sft_count for t in EDIT_TYPES])[0]
    # About 1 source in 12 is reused by another edit, as in the release (one photo, several edit types).
    if sources and rng.random() < 0.08:
        url = rng.choice(sources)
    else:
        url = _flickr_url(rng, i)
        if len(sources) < 10_000:
            sources.append(url)
        else:
            sources[rng.randrange(len(sources))] = url
    return {"open_image_input_url": url, "text": f"{sample['text']} (variant {i})",
            "edit_type": edit_type.name, "summarized_text": sample["summarized_text"]}


def _write(path: str | Path, lines: Iterator[str]) -> int:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        for line in lines:
            out.write(line)
            out.write("\n")
    return path.stat().st_size


def sft_lines(n: int, seed: int = 0) -> Iterator[str]:
    rng, (samples, _), sources = random.Random(seed), _samples(), []
    for i in range(n):
        fields = _edit_fields(rng, samples, i, sources)
        retry = rng.random()
        name = (f"{i + 1}.png" if retry < 0.85 else
                f"{_short_id(rng)}{i:x}_retry{1 if retry < 0.95 else 2}.png")
        fields["output_image"] = f"images/positive-edit/{name}"
        yield json.dumps({k: fields[k] for k in ("open_image_input_url", "text", "output_image", "edit_type",
                                                  "summarized_text")})


def preference_lines(n: int, seed: int = 0) -> Iterator[str]:
    rng, (samples, _), sources = random.Random(seed + 1), _samples(), []
    rejected_no = 0
    for i in range(n):
        fields = _edit_fields(rng, samples, i, sources)
        k = 1 if rng.random() < 0.7 else 2
        fields["output_image"] = f"images/positive-edit/{_short_id(rng)}{i:x}p_retry{k}.png"
        rejected = []
        for _ in range(k):
            rejected_no += 1
            prefix = "nano-banana-300k/" if rng.random() < 0.5 else ""
            rejected.append(f"{prefix}images/rejected-edit/{rejected_no}.png")
        fields["rejected_images"] = rejected
        yield json.dumps({key: fields[key] for key in ("output_image", "rejected_images", "text", "edit_type",
                                                        "open_image_input_url", "summarized_text")})


def multi_turn_lines(n: int, seed: int = 0) -> Iterator[str]:
    rng, (_, prompts) = random.Random(seed + 2), _samples()
    for i in range(n):
        turns = rng.randint(2, 5)
        session, attempt = 100 + i, "B" if rng.random() < 0.3 else "A"
        stem = f"images/multi-turn/{session}_attempt{attempt}"
        files = [{"id": f"edit_turn{k}", "url": f"{stem}_turn{k}.png"} for k in range(1, turns)]
        files.append({"id": "final_image", "url": f"{stem}_turn{turns}.png"})
        files.append({"id": "original_input_image", "url": _flickr_url(rng, i)})
        chosen = [prompts[(i + k) % len(prompts)] for k in range(turns)]
        yield json.dumps({"files": files, "metadata_edit_turn_prompts": chosen})


def write_sft(path: str | Path, n: int, seed: int = 0) -> int:
    return _write(path, sft_lines(n, seed))


def write_preference(path: str | Path, n: int, seed: int = 0) -> int:
    return _write(path, preference_lines(n, seed))


def write_multi_turn(path: str | Path, n: int, seed: int = 0) -> int:
    return _write(path, multi_turn_lines(n, seed))


WRITERS = {"sft": write_sft, "preference": write_preference, "multi-turn": write_multi_turn}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=sorted(WRITERS))
    parser.add_argument("out", type=Path)
    parser.add_argument("-n", type=int, default=400_000, help="number of lines")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    size = WRITERS[args.kind](args.out, args.n, args.seed)
    print(f"{args.out}: {args.n:,} {args.kind} lines, {size / 1e6:,.1f} MB")


if __name__ == "__main__":
    main()
