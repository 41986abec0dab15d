"""`picobanana ingest DIR|FILES...`: add your own photos as sources, validated and normalised."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich import box
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from picobanana.cli.context import AppContext, pass_app
from picobanana.io.ingest import IngestReport, image_files, ingest_paths


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--license", "license_", default=None, help="License recorded on every new source (e.g. CC-BY-4.0).")
@click.option("--show", "show", default=10, show_default=True, help="Rejected files listed (0: none, -1: all).")
@pass_app
def ingest(app: AppContext, paths: tuple[Path, ...], license_: str | None, show: int) -> None:
    """Add photos from folders (searched recursively) or files as sources.

    Each image is checked and normalised: EXIF orientation applied; CMYK, 16-bit, palette and alpha images
    converted to RGB (alpha on white); empty, truncated, non-image, oversized (> 64 MP or a side over
    12,000 px), tiny and extremely elongated files refused with their reason. Running it again on the same
    files adds nothing. Exit code 1 when any file was refused.
    """
    files = list(image_files(paths))
    bar = Progress(TextColumn("ingest"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=app.err,
                   transient=True)
    with app.open_store() as store, bar:
        task = bar.add_task("ingest", total=len(files))
        report = ingest_paths(store, files, license=license_, progress=lambda _path: bar.advance(task))
    _print_summary(app, report, show)
    if report.rejected:
        sys.exit(1)


def _print_summary(app: AppContext, report: IngestReport, show: int) -> None:
    table = Table(box=box.SIMPLE, show_header=True)
    table.add_column("result")
    table.add_column("files", justify="right")
    table.add_row("accepted (new)", str(report.accepted))
    table.add_row("already ingested", str(report.already))
    for kind, count in report.rejected_by_reason().items():
        table.add_row(f"rejected: {escape(kind)}", str(count))
    app.console.print(table)
    if report.changes:
        done = ", ".join(f"{kind} ×{n}" for kind, n in report.changes.most_common())
        app.console.print(f"normalised: {escape(done)}")
    listed = report.rejected if show < 0 else report.rejected[:show]
    for rejection in listed:
        app.console.print(f"  refused {escape(rejection.path)}: {escape(rejection.kind)} — {escape(rejection.detail)}")
    if len(listed) < len(report.rejected):
        app.console.print(f"  … and {len(report.rejected) - len(listed)} more (--show -1 lists all)")


def register(cli: click.Group) -> None:
    cli.add_command(ingest)
