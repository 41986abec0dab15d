"""The released JSONL format: one file per kind and split, plus a manifest of image URLs beside it.

    jsonl/<split>/sft.jsonl             manifest/<split>/sft_manifest.txt
    jsonl/<split>/preference.jsonl      manifest/<split>/preference_manifest.txt
    jsonl/<split>/multi-turn.jsonl      manifest/<split>/multi_turn_manifest.txt

Lines are `dumps_line` output (the release's key order, `json.dumps` defaults, `\\n` endings); image paths are
relative. A manifest lists one absolute URL (base URL + relative path) per edited image its JSONL references:
the kept output, the rejected ones (preference), every turn (multi-turn). Source photos stay URLs in the
records and are not listed, as in the release. Files are created on their first line: a split with no
records has no file.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import IO
from urllib.parse import quote

from picobanana.io.pico_format import FILE_NAMES, MANIFEST_NAMES, Kind, dumps_line

_BUFFER = 1 << 20


def sft_values(source_url: str, text: str, output_image: str, edit_type: str, summarized_text: str) -> dict:
    return {"open_image_input_url": source_url, "text": text, "output_image": output_image,
            "edit_type": edit_type, "summarized_text": summarized_text}


def preference_values(source_url: str, text: str, output_image: str, rejected_images: list[str],
                      edit_type: str, summarized_text: str) -> dict:
    return {"output_image": output_image, "rejected_images": rejected_images, "text": text,
            "edit_type": edit_type, "open_image_input_url": source_url, "summarized_text": summarized_text}


def multi_turn_values(source_url: str, turn_images: list[str], prompts: list[str]) -> dict:
    """`files` in the published order: edit_turn1..N-1, final_image (turn N), original_input_image."""
    files = [{"id": f"edit_turn{k}", "url": path} for k, path in enumerate(turn_images[:-1], start=1)]
    files.append({"id": "final_image", "url": turn_images[-1]})
    files.append({"id": "original_input_image", "url": source_url})
    return {"files": files, "metadata_edit_turn_prompts": prompts}


class JsonlSink:
    """Writes one kind's JSONL and manifest files, per split, as records arrive."""

    def __init__(self, root: Path, kind: Kind, base_url: str, *, manifests: bool = True):
        self.root = root
        self.kind = kind
        self.base_url = base_url.rstrip("/") + "/"
        self.manifests = manifests
        self._lines: dict[str, IO[str]] = {}
        self._manifest: dict[str, IO[str]] = {}
        self.files: list[Path] = []

    def _open(self, folder: str, split: str, name: str) -> IO[str]:
        path = self.root / folder / split / name
        path.parent.mkdir(parents=True, exist_ok=True)
        self.files.append(path)
        return open(path, "w", encoding="utf-8", newline="\n", buffering=_BUFFER)

    def write(self, split: str, values: dict, image_paths: Iterable[str]) -> None:
        lines = self._lines.get(split)
        if lines is None:
            lines = self._lines[split] = self._open("jsonl", split, FILE_NAMES[self.kind])
        lines.write(dumps_line(self.kind, values) + "\n")
        if self.manifests:
            manifest = self._manifest.get(split)
            if manifest is None:
                manifest = self._manifest[split] = self._open("manifest", split, MANIFEST_NAMES[self.kind])
            base = self.base_url
            manifest.write("".join(f"{base}{quote(path)}\n" for path in image_paths))

    def close(self) -> None:
        for handle in (*self._lines.values(), *self._manifest.values()):
            handle.close()
        self._lines.clear()
        self._manifest.clear()
