"""The dataset card (README.md): Hugging Face YAML front matter + what is inside and where it came from.

The front matter's `configs:` lists one config per kind with its data files per split, so
`datasets.load_dataset(<export folder>, "sft")` works (Parquet when exported, else the JSONL files).
YAML is written by hand: strings are JSON-quoted, which YAML reads as double-quoted scalars.
"""

from __future__ import annotations

import json
from pathlib import Path

from picobanana.io.export.report import ExportReport
from picobanana.io.export.splits import SPLITS
from picobanana.io.pico_format import FILE_NAMES

RELEASE_LICENSE = "cc-by-nc-nd-4.0"
LICENSE_NOTE = (
    "Records derived from Apple's Pico-Banana-400K release "
    "(https://github.com/apple/pico-banana-400k) are licensed CC BY-NC-ND 4.0 "
    "(https://creativecommons.org/licenses/by-nc-nd/4.0/): non-commercial use, with attribution, no "
    "derivatives may be distributed. The source photos are Open Images (Flickr) images under CC BY 2.0 "
    "(https://creativecommons.org/licenses/by/2.0/); they are referenced by URL and, when included here, "
    "keep their own license."
)
OWN_LICENSE_NOTE = (
    "No record in this export comes from the Pico-Banana-400K release. Set the license of the generated "
    "edits yourself: it depends on the source photos' licenses and the terms of the editing and judging "
    "models used (see Provenance)."
)

SELECTION_RULES = (
    "An attempt is kept when a curator kept it; otherwise when its judgment scores at or above the "
    "threshold; otherwise (no judgment) when the Pico-Banana release kept it. SFT holds kept single-turn "
    "edits; preference pairs an edit's first kept attempt with its earlier failed attempts; multi-turn "
    "holds sessions whose every turn was kept."
)


def _q(text: str) -> str:
    return json.dumps(text)


def data_files(report: ExportReport, kind: str) -> list[tuple[str, str]]:
    """(split, path pattern) pairs of a kind's files, Parquet preferred (it embeds the images)."""
    pairs = []
    for split in SPLITS:
        if not report.counts.get(kind, {}).get(split):
            continue
        if "parquet" in report.formats:
            pairs.append((split, f"parquet/{kind}/{split}-*.parquet"))
        else:
            pairs.append((split, f"jsonl/{split}/{FILE_NAMES[kind]}"))  # type: ignore[index]
    return pairs


def front_matter(report: ExportReport) -> str:
    lines = ["---", f"license: {RELEASE_LICENSE if report.release_derived else 'other'}",
             f"pretty_name: {_q('Pico-Banana-format image-editing dataset')}",
             "task_categories:", "- image-to-image", "tags:", "- image-editing", "- pico-banana", "configs:"]
    first = True
    for kind in report.kinds:
        files = data_files(report, kind)
        if not files:
            continue
        lines.append(f"- config_name: {_q(kind)}")
        if first:
            lines.append("  default: true")
            first = False
        lines.append("  data_files:")
        for split, pattern in files:
            lines += [f"  - split: {split}", f"    path: {_q(pattern)}"]
    if first:  # nothing exported: an empty list keeps the YAML valid
        lines[-1] = "configs: []"
    lines.append("---")
    return "\n".join(lines)


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    rule = "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"
    out = ["| " + " | ".join(header) + " |", rule]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def _breakdown(title: str, header: str, per_split: dict[str, dict[str, int]]) -> list[str]:
    # Taxonomy order: the counts arrive sorted by edit type id, categories in order of their first type.
    names = list(dict.fromkeys(name for split in SPLITS for name in per_split.get(split, {})))
    if not names:
        return []
    rows = []
    for name in names:
        values = [per_split.get(split, {}).get(name, 0) for split in SPLITS]
        rows.append([name.replace("|", "\\|"), *(f"{v:,}" for v in values), f"{sum(values):,}"])
    return ["", f"**{title}**", "", *_table([header, *SPLITS, "total"], rows)]


def render_card(report: ExportReport) -> str:
    p = report.policy
    intro = (f"Exported by picobanana {report.picobanana_version} on {report.created_at} under the policy "
             f"`{p.ref}`, with a validation fraction of {report.validation_fraction:g} assigned by source "
             "image (sha256 of the source URL; no source photo appears in both splits).")
    lines = [front_matter(report), "", "# Pico-Banana-format image-editing dataset", "", intro, "",
             "## Contents", ""]
    rows = [[kind, *(f"{report.counts.get(kind, {}).get(s, 0):,}" for s in SPLITS), f"{report.total(kind):,}"]
            for kind in report.kinds]
    lines += _table(["kind", *SPLITS, "total"], rows)
    layout = []
    if "jsonl" in report.formats:
        layout += [("- `jsonl/<split>/{sft,preference,multi-turn}.jsonl`: the released Pico-Banana-400K "
                    "format (same keys and key order, relative image paths);"),
                   ("- `manifest/<split>/<kind>_manifest.txt`: one absolute URL per edited image the JSONL "
                    f"references (base `{report.base_url}`);")]
    if "parquet" in report.formats:
        layout.append("- `parquet/<kind>/<split>-NNNNN-of-NNNNN.parquet`: the same records for Hugging Face "
                      "`datasets`, " + ("images embedded;" if report.images.embedded_in_parquet
                                        else "image columns hold relative paths;"))
    if report.images.copied_into_export:
        layout.append("- `images/`: the edited images at their relative paths; source photos the workspace "
                      "holds under `images/sources/`;")
    layout.append("- `export.json`: this export's machine-readable report.")
    lines += ["", "Layout:", "", *layout]
    first_kind = _q(report.kinds[0] if report.kinds else "sft")
    lines += ["", "```python", "from datasets import load_dataset",
              f'ds = load_dataset("path/to/this/folder", {first_kind})', "```", ""]

    lines += ["## Counts by category and edit type", ""]
    for kind in report.kinds:
        if kind == "multi-turn":
            turns = report.by_turns
            if turns:
                lines += [f"### {kind}", ""]
                names = sorted({n for c in turns.values() for n in c}, key=int)
                lines += _table(["turns", *SPLITS, "total"],
                                [[n, *(f"{turns.get(s, {}).get(n, 0):,}" for s in SPLITS),
                                  f"{sum(turns.get(s, {}).get(n, 0) for s in SPLITS):,}"] for n in names])
                lines.append("")
            continue
        if not report.total(kind):
            continue
        lines += [f"### {kind}"]
        lines += _breakdown("per category", "category", report.by_category.get(kind, {}))
        lines += _breakdown("per edit type", "edit type", report.by_edit_type.get(kind, {}))
        lines.append("")

    lines += ["## Selection policy", "",
              f"- policy: `{p.ref}`" + (f" ({p.note})" if p.note else ""),
              "- weights: " + ", ".join(f"{k} {v:.4g}" for k, v in p.weights.items()),
              f"- threshold: keep when score ≥ {p.threshold:g}"]
    for category, rule in p.per_category.items():
        parts = []
        if "weights" in rule:
            parts.append("weights " + ", ".join(f"{k} {v:.4g}" for k, v in rule["weights"].items()))
        if "threshold" in rule:
            parts.append(f"threshold {rule['threshold']:g}")
        lines.append(f"- {category}: " + "; ".join(parts))
    lines += ["", SELECTION_RULES, "", "## Human review", ""]
    h = report.human_decisions
    lines += [f"- human decisions applied: {h.total:,} ({h.keep:,} keep, {h.fail:,} fail)",
              ("- of which overrides (the curator disagreed with the judge or the release): "
               f"{h.overrides:,}"), ""]

    lines += ["## Provenance", ""]
    prov = report.provenance
    lines += ["Attempts are counted per appearance: a kept attempt in both sft and preference counts twice.", ""]
    if prov.import_files:
        lines += ["Imported files:", ""]
        lines += _table(["file", "kind", "imported at", "attempts exported"],
                        [[f"`{f.path}`", f.kind or "", f.finished_at or "", f"{f.attempts_exported:,}"]
                         for f in prov.import_files])
        lines.append("")
    if prov.origins:
        origins = ", ".join(f"{k} {v:,}" for k, v in sorted(prov.origins.items()))
        lines.append(f"Attempts by origin: {origins}.")
        lines.append("")
    if prov.editors:
        lines += ["Editing backends and models:", ""]
        lines += _table(["backend", "model", "version", "attempts"],
                        [[m.backend or "", m.model or "", m.model_version or "", f"{m.attempts_exported:,}"]
                         for m in prov.editors])
        lines.append("")
    if prov.judges:
        lines.append("Judges: " + ", ".join(f"{k} {v:,}" for k, v in sorted(prov.judges.items())) + ".")
        lines.append("")
    skipped = {k: v for k, v in report.skipped.items() if v}
    if skipped:
        lines.append("Skipped: " + "; ".join(f"{k}: {v:,}" for k, v in sorted(skipped.items())) + ".")
        lines.append("")

    i = report.images
    lines += ["## Images", ""]
    if i.copied_into_export or i.embedded_in_parquet:
        placed = (f"- placed in `images/`: {i.linked + i.copied:,} ({i.linked:,} hard links, "
                  f"{i.copied:,} copies)")
        lines += [placed if i.copied_into_export else "- not copied into the export folder",
                  f"- edited images referenced but not in the workspace: {i.missing_outputs:,}",
                  f"- source photos not in the workspace (records keep their URL): {i.missing_sources:,}", ""]
    else:
        lines += ["Images were neither copied nor embedded: records reference them by relative path.", ""]

    lines += ["## License", "", LICENSE_NOTE if report.release_derived else OWN_LICENSE_NOTE, ""]
    return "\n".join(lines)


def write_card(report: ExportReport, folder: Path) -> Path:
    path = folder / "README.md"
    path.write_text(render_card(report), encoding="utf-8")
    return path

