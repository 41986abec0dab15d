"""Export curated splits in the released Pico-Banana-400K format, as Parquet for `datasets`, with a card.

Layout of an export folder (files exist only for kind × split pairs that have records):

    README.md                                   dataset card (HF YAML: configs per kind, data files per split)
    export.json                                 the ExportReport: counts, policy, images, provenance
    jsonl/<split>/sft.jsonl                     released format: key order, relative paths, json.dumps
    jsonl/<split>/preference.jsonl
    jsonl/<split>/multi-turn.jsonl
    manifest/<split>/sft_manifest.txt           one absolute URL (base_url + relative path) per edited image
    manifest/<split>/preference_manifest.txt
    manifest/<split>/multi_turn_manifest.txt
    parquet/<kind>/<split>-00000-of-0000N.parquet   ZSTD, HF features in the schema, images embedded
    images/positive-edit/…, images/rejected-edit/…, images/multi-turn/…, images/sources/<sha256>.<ext>

<split> is `train` or `validation`, assigned by source image (splits.py). Modules: selection (which attempts
form each kind), splits, paths (image names), images (link/copy), jsonl, parquet, card, report, exporter.
"""

from picobanana.io.export.exporter import FORMATS, REPORT_FILE, export_dataset, resolve_policy
from picobanana.io.export.report import ExportError, ExportReport
from picobanana.io.export.splits import SPLITS, source_fraction, split_of

__all__ = [
    "FORMATS",
    "REPORT_FILE",
    "SPLITS",
    "ExportError",
    "ExportReport",
    "export_dataset",
    "resolve_policy",
    "source_fraction",
    "split_of",
]
