"""`export_dataset`: one streaming pass per kind feeds every format at once.

For each kind the selector (selection.py) yields items in SQL order; each item is assigned its split by
source, its images are placed (linked/copied), it is written to the JSONL + manifest and Parquet sinks and
counted. Nothing holds a whole split in memory.

The export is built in a hidden sibling folder and renamed into place at the end, so an interrupted export
never leaves a half-written folder under the real name. All reads share one read transaction: the counts in
the card describe exactly the files written, even while other processes keep writing to the workspace.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from picobanana import __version__
from picobanana.config import ExportSettings
from picobanana.io.export import paths
from picobanana.io.export.card import write_card
from picobanana.io.export.images import ImagePlacer
from picobanana.io.export.jsonl import JsonlSink, multi_turn_values, preference_values, sft_values
from picobanana.io.export.parquet import ParquetSink
from picobanana.io.export.report import (
    ExportError,
    ExportReport,
    HumanDecisionSummary,
    ImageSummary,
    ImportFileUse,
    ModelUse,
    PolicySummary,
    Provenance,
)
from picobanana.io.export.selection import (
    Attempt,
    Source,
    human_decision_counts,
    select_multi_turn,
    select_preference,
    select_sft,
)
from picobanana.io.export.splits import check_fraction, split_of
from picobanana.io.pico_format import KINDS, Kind
from picobanana.store.db import Store, utc_now
from picobanana.store.policies import Policy, active_policy, get_policy
from picobanana.taxonomy import edit_type_by_id

FORMATS = ("jsonl", "parquet")
REPORT_FILE = "export.json"
ProgressFn = Callable[[str, int], None]  # (kind, items done so far)
_PROGRESS_EVERY = 5000
_DEFAULTS = ExportSettings()


def resolve_policy(store: Store, policy: Policy | str | int | None) -> Policy:
    """None → the active policy; "name", "name@version" or an id → that stored policy; a Policy as is."""
    if policy is None:
        return active_policy(store)
    if isinstance(policy, Policy):
        return policy
    return get_policy(store, policy)


class _Tally:
    """Counts while streaming: records per (kind, split, edit type | turns), attempts per provenance facts."""

    def __init__(self) -> None:
        self.records: Counter[tuple[str, str, int | None]] = Counter()
        self.attempts: Counter[tuple] = Counter()
        self.skipped: Counter[str] = Counter()

    def attempt(self, a: Attempt) -> None:
        self.attempts[(a.origin, a.import_file_id, a.backend, a.model, a.model_version, a.judge_model)] += 1


class _Run:
    def __init__(self, store: Store, stage: Path, *, policy: Policy, fraction: float,
                 formats: tuple[str, ...], copy_images: bool, embed_images: bool, base_url: str,
                 shard_rows: int, progress: ProgressFn | None):
        self.store = store
        self.stage = stage
        self.policy = policy
        self.fraction = fraction
        self.formats = formats
        self.embed = embed_images and "parquet" in formats
        # Touch image files only when they are copied or embedded: a text-only export needs no stat() calls.
        self.images_wanted = copy_images or self.embed
        self.placer = ImagePlacer(store.images, stage, enabled=copy_images)
        self.base_url = base_url
        self.shard_rows = shard_rows
        self.progress = progress
        self.tally = _Tally()
        self.files: list[Path] = []

    # -- image cells ------------------------------------------------------------------------------

    def _output(self, rel: str, a: Attempt) -> tuple[object, int]:
        """Place an edited image; return its Parquet cell and its embedded size."""
        stored = self.placer.place_output(rel, a) if self.images_wanted else None
        if not self.embed:
            return rel, 0
        if stored is None:
            return None, 0
        data = stored.read_bytes()
        return {"bytes": data, "path": rel}, len(data)

    def _source(self, item_source: Source) -> tuple[object, int]:
        rel = paths.source_path(item_source)
        stored = self.placer.place_source(rel, item_source) if self.images_wanted else None
        if not self.embed:
            return (rel if (stored is not None or not self.images_wanted) else None), 0
        if stored is None:
            return None, 0
        data = stored.read_bytes()
        return {"bytes": data, "path": rel}, len(data)

    # -- kinds ------------------------------------------------------------------------------------

    def _sinks(self, kind: Kind) -> tuple[JsonlSink | None, ParquetSink | None]:
        jsonl = JsonlSink(self.stage, kind, self.base_url) if "jsonl" in self.formats else None
        parquet = (ParquetSink(self.stage, kind, embed=self.embed, shard_rows=self.shard_rows)
                   if "parquet" in self.formats else None)
        return jsonl, parquet

    def _close(self, *sinks: JsonlSink | ParquetSink | None) -> None:
        for sink in sinks:
            if sink is not None:
                sink.close()
                self.files.extend(sink.files)

    def _tick(self, kind: str, done: int) -> None:
        if self.progress is not None and done % _PROGRESS_EVERY == 0:
            self.progress(kind, done)

    def export(self, kind: Kind) -> None:
        jsonl, parquet = self._sinks(kind)
        try:
            runner = {"sft": self._sft, "preference": self._preference, "multi-turn": self._multi_turn}[kind]
            done = runner(jsonl, parquet)
        finally:
            self._close(jsonl, parquet)
        if self.progress is not None:
            self.progress(kind, done)

    @staticmethod
    def _texts(a: Attempt) -> tuple[str | None, str | None]:
        # The release has both; pipeline attempts may lack one: each falls back to the other.
        return a.instruction or a.short_instruction, a.short_instruction or a.instruction

    def _sft(self, jsonl: JsonlSink | None, parquet: ParquetSink | None) -> int:
        done = 0
        tally = self.tally
        for item in select_sft(self.store, self.policy):
            a, source = item.attempt, item.source
            text, summary = self._texts(a)
            if a.edit_type_id is None or text is None:
                tally.skipped["sft: no edit type" if a.edit_type_id is None else "sft: no instruction"] += 1
                continue
            edit_type = edit_type_by_id(a.edit_type_id)
            split = split_of(source.uri, self.fraction)
            out = paths.kept_path(a)
            if jsonl is not None:
                jsonl.write(split, sft_values(source.uri, text, out, edit_type.name, summary), (out,))
            if parquet is not None or self.images_wanted:
                edited, n_out = self._output(out, a)
                src, n_src = self._source(source)
                if parquet is not None:
                    parquet.write(split, (source.uri, src, edited, out, edit_type.name,
                                          edit_type.category.name, text, summary, split, a.score,
                                          a.compliance, a.seamlessness, a.preservation, a.quality,
                                          a.verdict_source, a.id), n_out + n_src)
            tally.records[("sft", split, a.edit_type_id)] += 1
            tally.attempt(a)
            done += 1
            self._tick("sft", done)
        return done

    def _preference(self, jsonl: JsonlSink | None, parquet: ParquetSink | None) -> int:
        done = 0
        tally = self.tally
        for item in select_preference(self.store, self.policy):
            chosen, source = item.chosen, item.source
            text, summary = self._texts(chosen)
            if chosen.edit_type_id is None or text is None:
                tally.skipped["preference: no edit type" if chosen.edit_type_id is None
                              else "preference: no instruction"] += 1
                continue
            edit_type = edit_type_by_id(chosen.edit_type_id)
            split = split_of(source.uri, self.fraction)
            out = paths.kept_path(chosen)
            rejected = [paths.rejected_path(r) for r in item.rejected]
            if jsonl is not None:
                values = preference_values(source.uri, text, out, rejected, edit_type.name, summary)
                jsonl.write(split, values, (out, *rejected))
            if parquet is not None or self.images_wanted:
                chosen_cell, size = self._output(out, chosen)
                rejected_cells = []
                for rel, attempt in zip(rejected, item.rejected, strict=True):
                    cell, n = self._output(rel, attempt)
                    rejected_cells.append(cell)
                    size += n
                src, n_src = self._source(source)
                if parquet is not None:
                    parquet.write(split, (source.uri, src, chosen_cell, rejected_cells, out, rejected,
                                          edit_type.name, edit_type.category.name, text, summary, split,
                                          chosen.score, chosen.id), size + n_src)
            tally.records[("preference", split, chosen.edit_type_id)] += 1
            for attempt in (*item.rejected, chosen):
                tally.attempt(attempt)
            done += 1
            self._tick("preference", done)
        return done

    def _multi_turn(self, jsonl: JsonlSink | None, parquet: ParquetSink | None) -> int:
        done = 0
        tally = self.tally
        for item in select_multi_turn(self.store, self.policy):
            # Prompts: the short instruction is what the release's multi-turn files carry.
            prompts = [a.short_instruction or a.instruction for a in item.turns]
            if any(p is None for p in prompts):
                tally.skipped["multi-turn: turn without instruction"] += 1
                continue
            split = split_of(item.source.uri, self.fraction)
            turn_paths = [paths.turn_path(item.chain_id, k, a) for k, a in enumerate(item.turns, start=1)]
            if jsonl is not None:
                jsonl.write(split, multi_turn_values(item.source.uri, turn_paths, prompts), turn_paths)  # type: ignore[arg-type]
            if parquet is not None or self.images_wanted:
                cells, size = [], 0
                for rel, attempt in zip(turn_paths, item.turns, strict=True):
                    cell, n = self._output(rel, attempt)
                    cells.append(cell)
                    size += n
                src, n_src = self._source(item.source)
                if parquet is not None:
                    parquet.write(split, (item.source.uri, src, cells, turn_paths, prompts, len(item.turns),
                                          split, item.chain_id), size + n_src)
            tally.records[("multi-turn", split, len(item.turns))] += 1
            for attempt in item.turns:
                tally.attempt(attempt)
            done += 1
            self._tick("multi-turn", done)
        return done


def _check_choice(values: Iterable[str], allowed: tuple[str, ...], what: str) -> tuple:
    chosen = tuple(dict.fromkeys(values))
    unknown = [v for v in chosen if v not in allowed]
    if unknown or not chosen:
        raise ExportError(f"unknown {what} {unknown or '(none given)'}; choose from {', '.join(allowed)}")
    return tuple(v for v in allowed if v in chosen)  # a fixed order keeps the output the same


def _prepare_target(out_dir: Path, overwrite: bool) -> Path:
    if out_dir.exists():
        if not out_dir.is_dir():
            raise ExportError(f"{out_dir} exists and is not a folder")
        if any(out_dir.iterdir()):
            if not overwrite:
                raise ExportError(f"{out_dir} is not empty; choose another folder or overwrite it")
            if not (out_dir / REPORT_FILE).is_file():
                # Never delete a folder that is not a previous export (a typo could name a home folder).
                raise ExportError(f"{out_dir} is not a picobanana export (no {REPORT_FILE}); "
                                  "refusing to overwrite it")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir()
    return stage


def _publish(stage: Path, out_dir: Path) -> None:
    old = None
    if out_dir.exists():
        old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
        out_dir.rename(old)
    stage.rename(out_dir)
    if old is not None:
        shutil.rmtree(old)


def _provenance(store: Store, tally: _Tally) -> Provenance:
    origins: Counter[str] = Counter()
    files: Counter[int] = Counter()
    editors: Counter[tuple] = Counter()
    judges: Counter[str] = Counter()
    for (origin, import_file_id, backend, model, version, judge), n in tally.attempts.items():
        origins[origin] += n
        if import_file_id is not None:
            files[import_file_id] += n
        if backend or model:
            editors[(backend, model, version)] += n
        if judge:
            judges[judge] += n
    uses = []
    for file_id, n in sorted(files.items()):
        row = store.conn.execute("SELECT path, kind, finished_at FROM import_files WHERE id = ?",
                                 (file_id,)).fetchone()
        if row is not None:
            uses.append(ImportFileUse(id=file_id, path=row[0], kind=row[1], finished_at=row[2],
                                      attempts_exported=n))
    return Provenance(
        import_files=uses, origins=dict(origins),
        editors=[ModelUse(backend=b, model=m, model_version=v, attempts_exported=n)
                 for (b, m, v), n in sorted(editors.items(), key=lambda kv: -kv[1])],
        judges=dict(judges),
    )


def _breakdowns(report_kinds: tuple[str, ...], tally: _Tally) -> dict:
    counts: dict[str, dict[str, int]] = {k: {} for k in report_kinds}
    by_category: dict[str, dict[str, dict[str, int]]] = {}
    by_edit_type: dict[str, dict[str, dict[str, int]]] = {}
    by_turns: dict[str, dict[str, int]] = {}
    ordered = sorted(tally.records.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or 0))
    for (kind, split, key), n in ordered:
        counts[kind][split] = counts[kind].get(split, 0) + n
        if kind == "multi-turn":
            turns = by_turns.setdefault(split, {})
            turns[str(key)] = turns.get(str(key), 0) + n
            continue
        edit_type = edit_type_by_id(key)  # type: ignore[arg-type]
        cats = by_category.setdefault(kind, {}).setdefault(split, {})
        cats[edit_type.category.name] = cats.get(edit_type.category.name, 0) + n
        types = by_edit_type.setdefault(kind, {}).setdefault(split, {})
        types[edit_type.name] = types.get(edit_type.name, 0) + n
    return {"counts": counts, "by_category": by_category, "by_edit_type": by_edit_type, "by_turns": by_turns}


def export_dataset(store: Store, out_dir: str | Path, *, splits: Iterable[str] = KINDS,
                   formats: Iterable[str] = FORMATS, policy: Policy | str | int | None = None,
                   validation_fraction: float = _DEFAULTS.validation_fraction, copy_images: bool = True,
                   embed_images: bool = True, base_url: str | None = None,
                   shard_rows: int = _DEFAULTS.parquet_shard_rows, overwrite: bool = False,
                   progress: ProgressFn | None = None) -> ExportReport:
    """Export the workspace's curated data to `out_dir` (see the package docstring for the layout).

    `splits` are the record kinds (sft, preference, multi-turn); each is divided into train/validation by
    source image. `policy` decides judged attempts (default: the active one); human decisions always win.
    """
    started = time.perf_counter()
    kinds: tuple[Kind, ...] = _check_choice(splits, KINDS, "split")
    chosen_formats: tuple[str, ...] = _check_choice(formats, FORMATS, "format")
    try:
        fraction = check_fraction(validation_fraction)
    except ValueError as exc:
        raise ExportError(str(exc)) from None
    if shard_rows < 1:
        raise ExportError(f"shard_rows must be positive, not {shard_rows}")
    resolved = resolve_policy(store, policy)
    out_dir = Path(out_dir).expanduser().resolve()
    base = base_url or (out_dir.as_uri() + "/")
    stage = _prepare_target(out_dir, overwrite)
    run = _Run(store, stage, policy=resolved, fraction=fraction, formats=chosen_formats,
               copy_images=copy_images, embed_images=embed_images, base_url=base, shard_rows=shard_rows,
               progress=progress)
    own_snapshot = not store.conn.in_transaction
    try:
        if own_snapshot:
            store.conn.execute("BEGIN")  # one consistent read snapshot for every query below
        try:
            for kind in kinds:
                run.export(kind)
            human = human_decision_counts(store, resolved)
            provenance = _provenance(store, run.tally)
        finally:
            if own_snapshot:
                store.conn.execute("ROLLBACK")
        counts = run.placer.counts
        report = ExportReport(
            out_dir=out_dir, kinds=list(kinds), formats=list(chosen_formats),
            policy=PolicySummary.of(resolved), validation_fraction=fraction, base_url=base,
            **_breakdowns(kinds, run.tally),
            skipped=dict(run.tally.skipped),
            images=ImageSummary(copied_into_export=copy_images, embedded_in_parquet=run.embed,
                                linked=counts.linked, copied=counts.copied,
                                missing_outputs=counts.missing_outputs if run.images_wanted else 0,
                                missing_sources=counts.missing_sources if run.images_wanted else 0),
            human_decisions=HumanDecisionSummary(total=human.total, keep=human.keep, fail=human.fail,
                                                 overrides=human.overrides),
            provenance=provenance,
            files=sorted(str(p.relative_to(stage)) for p in run.files),
            created_at=utc_now(), picobanana_version=__version__,
            release_derived=provenance.origins.get("release", 0) > 0,
        )
        write_card(report, stage)
        report.files = sorted([*report.files, "README.md", REPORT_FILE])
        report.seconds = round(time.perf_counter() - started, 3)
        (stage / REPORT_FILE).write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
        _publish(stage, out_dir)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return report
