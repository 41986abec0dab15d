"""`picobanana import` and its companions: imports, import-errors, attach-images, map-openimages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Self

import click
from rich import box
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from picobanana.cli.context import AppContext, pass_app
from picobanana.io.image_attach import ImageReport, attach_images
from picobanana.io.import_history import find_import, list_imports, rejected_lines
from picobanana.io.importer import ImportReport, import_file
from picobanana.io.openimages import OpenImagesReport, map_openimages
from picobanana.io.pico_format import KINDS
from picobanana.taxonomy import resolve_edit_type

_DIR = click.Path(exists=True, file_okay=False, path_type=Path)
_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
_LINK_HELP = "Hard-link image files into the workspace instead of copying them."


class _Progress:
    """One rich bar per phase; "lines" counts bytes of the file, the others count items."""

    def __init__(self, app: AppContext):
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                            TextColumn("{task.fields[unit]}"), TimeRemainingColumn(), console=app.err,
                            transient=True)
        self.tasks: dict[str, int] = {}
        self.label = ""

    def __enter__(self) -> Self:
        self.bar.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.bar.stop()

    def __call__(self, phase: str, done: int, total: int) -> None:
        key = f"{self.label}:{phase}"
        if key not in self.tasks:
            description = f"{self.label} {phase}" if self.label else phase
            self.tasks[key] = self.bar.add_task(escape(description), total=total, unit="")
        unit = f"{done / 1e6:,.0f}/{total / 1e6:,.0f} MB" if phase == "lines" else f"{done:,}/{total:,}"
        self.bar.update(self.tasks[key], completed=done, total=total, unit=unit)


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=_FILE)
@click.option("--images-root", type=_DIR,
              help="Folder holding the release images: each path (images/positive-edit/1.png, ...) is looked "
                   "up under it and stored in the workspace.")
@click.option("--openimages-csv", type=_FILE,
              help="Open Images CSV with ImageID and OriginalURL columns (e.g. "
                   "train-images-boxable-with-rotation.csv), to find source photos on disk.")
@click.option("--openimages-dir", type=_DIR,
              help="Folder of extracted Open Images files (<ImageID>.jpg, any depth).")
@click.option("--link", is_flag=True, help=_LINK_HELP)
@click.option("--kind", type=click.Choice(KINDS),
              help="Accept only this record kind (default: detected per line; a file may mix kinds).")
@click.option("--batch-size", type=click.IntRange(1), default=None,
              help="Lines per transaction (default: settings import.batch_size).")
@click.option("--force", is_flag=True, help="Re-read files that were already imported completely.")
@click.option("--errors", "show_errors", type=click.IntRange(0), default=20, show_default=True,
              help="Rejected lines to list per file (all are kept; see `picobanana import-errors`).")
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON instead of tables.")
@pass_app
def import_(app: AppContext, files: tuple[Path, ...], images_root: Path | None, openimages_csv: Path | None,
            openimages_dir: Path | None, link: bool, kind: str | None, batch_size: int | None, force: bool,
            show_errors: int, as_json: bool) -> None:
    """Import Pico-Banana-400K JSONL files (sft, preference, multi-turn, or a mix).

    Streams each file; an interrupted import resumes where it stopped when run again, and a finished file
    is recognised and skipped. Bad lines are recorded with their line number and reason and the rest is
    imported; the exit code is 1 when any line was rejected (or a file held no records).
    """
    if (openimages_csv is None) != (openimages_dir is None):
        raise click.UsageError("--openimages-csv and --openimages-dir go together")
    reports: list[ImportReport] = []
    mapping: OpenImagesReport | None = None
    try:
        with app.open_store() as store, _Progress(app) as progress:
            for path in files:
                progress.label = path.name
                reports.append(import_file(store, path, images_root=images_root, kind=kind, link=link,
                                           force=force, progress=progress,
                                           batch_size=batch_size or app.settings.import_.batch_size))
            if openimages_csv is not None:
                progress.label = ""
                mapping = map_openimages(store, openimages_csv, openimages_dir, link=link, progress=progress)
            for report in reports:  # the report holds the first 20; --errors may ask for more
                if report.rejected > len(report.errors) and show_errors > len(report.errors):
                    report.errors = rejected_lines(store, report.import_file_id, show_errors)
    except KeyboardInterrupt:
        app.err.print("Interrupted. Everything up to the last finished batch is saved: run the same command "
                      "again to continue where it stopped.")
        raise SystemExit(130) from None
    if as_json:
        click.echo(json.dumps({"files": [r.model_dump(mode="json") for r in reports],
                               "openimages": mapping.model_dump() if mapping else None}, indent=2))
    else:
        _print_imports(app, reports, show_errors)
        if mapping is not None:
            _print_mapping(app, mapping)
    if not all(r.ok for r in reports):
        raise SystemExit(1)


_STATUS = {"imported": "read", "already_imported": "already imported", "empty": "empty"}


def _print_imports(app: AppContext, reports: list[ImportReport], show_errors: int) -> None:
    table = Table("file", "status", "kind", "imported", "duplicates", "rejected", "aliased", title="Import")
    for report in reports:
        name = Path(report.path).name
        status = "resumed" if report.resumed_from_line else _STATUS[report.status]
        rows = [(kind, f"{c.imported:,}", f"{c.duplicates:,}", f"{c.rejected:,}", f"{c.aliased:,}")
                for kind, c in report.kinds.items()]
        if report.unparsed:
            rows.append(("(not a record)", "", "", f"{report.unparsed:,}", ""))
        for row in rows or [("", "", "", "", "")]:
            table.add_row(escape(name), status, *row)
            name = status = ""
    app.console.print(table)
    for report in reports:
        _print_notes(app, report, show_errors)


def _print_notes(app: AppContext, report: ImportReport, show_errors: int) -> None:
    name, say = Path(report.path).name, app.console.print
    if report.status == "already_imported":
        say(f"{name}: already imported (import #{report.import_file_id}); nothing new read. "
            f"Use --force to read it again.")
    elif report.status == "empty":
        say(f"[red]{name}: no records (empty file)[/red]")
    else:
        notes = [f"{report.lines:,} lines in {report.seconds:.1f} s"]
        if report.resumed_from_line:
            notes.append(f"resumed at line {report.resumed_from_line:,}")
        if report.blank:
            notes.append(f"{report.blank:,} blank lines skipped")
        say(f"{escape(name)}: {'; '.join(notes)}")
    for spelling, n in report.aliases.items():
        canonical = _canonical(spelling)
        say(f"  edit_type alias {spelling!r} → {canonical!r}: {n:,}")
    if report.images is not None:
        _print_images(app, report.images)
    if report.rejected and show_errors:
        say(f"[red]{report.rejected:,} rejected lines[/red] (import #{report.import_file_id}):")
        for error in report.errors[:show_errors]:
            say(f"  {escape(name)}:{error.line_no}: {escape(error.reason)}")
        if report.rejected > show_errors:
            say(f"  ... all of them: picobanana import-errors {report.import_file_id}")


def _canonical(spelling: str) -> str:
    try:
        return resolve_edit_type(spelling)[0].name
    except ValueError:
        return "?"


def _print_images(app: AppContext, images: ImageReport) -> None:
    say = app.console.print
    if images.attached or images.missing or images.missing_rejected or images.corrupt:
        say(f"  images: {images.attached:,} attached, {images.missing:,} missing, "
            f"{images.missing_rejected:,} rejected-edit images missing (the release does not ship them), "
            f"{images.corrupt:,} unreadable")
    if images.sources_attached or images.sources_missing or images.sources_corrupt:
        say(f"  source images (local_input_image): {images.sources_attached:,} attached, "
            f"{images.sources_missing:,} missing, {images.sources_corrupt:,} unreadable")
    for problem in images.problems[:20]:
        line = f" (line {problem.import_line})" if problem.import_line else ""
        say(f"  [yellow]{escape(problem.path)}{line}: {escape(problem.reason)}[/yellow]")


def _print_mapping(app: AppContext, report: OpenImagesReport) -> None:
    app.console.print(f"Open Images: {report.wanted:,} sources without an image; {report.matched:,} matched, "
                      f"{report.not_in_csv:,} not in the CSV, {report.file_missing:,} file missing, "
                      f"{report.corrupt:,} unreadable ({report.csv_rows:,} CSV rows read)")
    for problem in report.problems[:20]:
        app.console.print(f"  [yellow]{escape(problem)}[/yellow]")


@click.command("imports")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@pass_app
def imports(app: AppContext, as_json: bool) -> None:
    """List the files imported into the workspace, with their counts and status."""
    with app.open_store() as store:
        files = list_imports(store)
    if as_json:
        click.echo(json.dumps([f.model_dump() for f in files], indent=2))
        return
    table = Table("#", "kind", "status", "lines", "imported", "dup.", "rej.", "alias.", box=box.SIMPLE,
                  caption="full paths and times: picobanana imports --json")
    table.add_column("file", overflow="fold")
    for f in files:
        table.add_row(str(f.id), f.kind or "", f.status, f"{f.lines:,}", f"{f.imported:,}",
                      f"{f.duplicates:,}", f"{f.rejected:,}", f"{f.aliased:,}", escape(Path(f.path).name))
    app.console.print(table)


@click.command("import-errors")
@click.argument("ref", required=False)
@click.option("--limit", type=click.IntRange(0), default=0, help="At most this many lines (0 = all).")
@pass_app
def import_errors(app: AppContext, ref: str | None, limit: int) -> None:
    """Print the rejected lines of an import as FILE:LINE: REASON.

    REF is an import id (see `picobanana imports`) or the imported file; default: the latest import.
    """
    with app.open_store() as store:
        imported = find_import(store, ref)
        errors = rejected_lines(store, imported.id, limit or None)
    for error in errors:
        click.echo(f"{imported.path}:{error.line_no}: {error.reason}")
    if not errors:
        click.echo(f"import #{imported.id} ({imported.path}) has no rejected lines", err=True)


@click.command("attach-images")
@click.option("--images-root", required=True, type=_DIR,
              help="Folder holding the release images under their release paths (images/positive-edit/...).")
@click.option("--link", is_flag=True, help=_LINK_HELP)
@pass_app
def attach_images_(app: AppContext, images_root: Path, link: bool) -> None:
    """Store the image files of imported attempts that have none yet, found under --images-root.

    Also retries source photos named by `local_input_image`. Use it after downloading images for data that
    was imported without them.
    """
    with app.open_store() as store, _Progress(app) as progress:
        report = attach_images(store, images_root, link=link, progress=progress)
    _print_images(app, report)
    if not (report.attached or report.missing or report.missing_rejected or report.corrupt):
        app.console.print("no attempt is waiting for an image")


@click.command("map-openimages")
@click.option("--csv", "csv_path", required=True, type=_FILE,
              help="Open Images CSV with ImageID and OriginalURL columns.")
@click.option("--dir", "images_dir", required=True, type=_DIR,
              help="Folder of extracted Open Images files (<ImageID>.jpg, any depth, e.g. train_0/).")
@click.option("--link", is_flag=True, help=_LINK_HELP)
@pass_app
def map_openimages_(app: AppContext, csv_path: Path, images_dir: Path, link: bool) -> None:
    """Find the source photos of imported records in a local Open Images copy (URL → ImageID → file).

    Only sources without an image are looked at, so it can run again after more files were extracted.
    """
    with app.open_store() as store, _Progress(app) as progress:
        report = map_openimages(store, csv_path, images_dir, link=link, progress=progress)
    _print_mapping(app, report)


def register(cli: click.Group) -> None:
    for command in (import_, imports, import_errors, attach_images_, map_openimages_):
        cli.add_command(command)
