"""`picobanana export`: curated splits in the released JSONL format and as Parquet, with a dataset card."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from picobanana.cli.context import AppContext, pass_app
from picobanana.io.export import FORMATS, ExportReport, export_dataset
from picobanana.io.pico_format import KINDS


def default_out_dir(workspace: Path, name: str | None) -> Path:
    return workspace / "exports" / (name or datetime.now().strftime("export-%Y%m%d-%H%M%S"))


@click.command("export")
@click.argument("out_dir", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", help="Folder name under <workspace>/exports/ when OUT_DIR is not given "
                             "(default: export-<date>-<time>).")
@click.option("-s", "--split", "kinds", multiple=True, type=click.Choice(KINDS),
              help="Record kind to export; repeat for several (default: all three).")
@click.option("-f", "--format", "formats", multiple=True, type=click.Choice(FORMATS),
              help="Output format; repeat for both (default: jsonl and parquet).")
@click.option("-p", "--policy", help="Policy NAME[@VERSION] or id deciding judged attempts (default: the "
                                     "active one). Human decisions always win.")
@click.option("--validation-fraction", type=click.FloatRange(0.0, 1.0, max_open=True), default=None,
              help="Share of source images assigned to validation "
                   "(default: settings export.validation_fraction).")
@click.option("--base-url", help="Prefix of manifest URLs (default: settings export.base_url, else the "
                                 "export folder as a file:// URL).")
@click.option("--shard-rows", type=click.IntRange(1), default=None,
              help="Rows per Parquet shard (default: settings export.parquet_shard_rows).")
@click.option("--no-copy-images", is_flag=True, help="Do not link/copy image files into the export folder.")
@click.option("--no-embed-images", is_flag=True, help="Parquet image columns hold relative paths, not bytes.")
@click.option("--no-images", is_flag=True, help="Both of the above: records and paths only (fastest).")
@click.option("--overwrite", is_flag=True, help="Replace OUT_DIR if it holds a previous export.")
@pass_app
def export(app: AppContext, out_dir: Path | None, name: str | None, kinds: tuple[str, ...],
           formats: tuple[str, ...], policy: str | None, validation_fraction: float | None,
           base_url: str | None, shard_rows: int | None, no_copy_images: bool, no_embed_images: bool,
           no_images: bool,
           overwrite: bool) -> None:
    """Export curated data to OUT_DIR (default: <workspace>/exports/<name>).

    Writes jsonl/<split>/<kind>.jsonl in the released Pico-Banana-400K format with manifests,
    parquet/<kind>/<split>-NNNNN-of-NNNNN.parquet for Hugging Face `datasets`, the image files and a dataset
    card (README.md). Train/validation are assigned by source image.
    """
    settings = app.settings.export
    target = out_dir or default_out_dir(app.settings.workspace, name)
    fraction = settings.validation_fraction if validation_fraction is None else validation_fraction
    with app.open_store() as store, _progress(app) as on_progress:
        report = export_dataset(
            store, target, splits=kinds or KINDS, formats=formats or FORMATS, policy=policy,
            validation_fraction=fraction,
            copy_images=not (no_images or no_copy_images), embed_images=not (no_images or no_embed_images),
            base_url=base_url or settings.base_url, shard_rows=shard_rows or settings.parquet_shard_rows,
            overwrite=overwrite, progress=on_progress,
        )
    _print_report(app, report)


class _progress:
    """A rich progress line per kind (records so far; the total is unknown until the query ends)."""

    def __init__(self, app: AppContext):
        self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                            TextColumn("{task.completed:,}"), TimeElapsedColumn(), console=app.err,
                            transient=True)
        self.tasks: dict[str, int] = {}

    def __enter__(self):
        self.bar.start()

        def update(kind: str, done: int) -> None:
            if kind not in self.tasks:
                self.tasks[kind] = self.bar.add_task(f"exporting {kind}", total=None)
            self.bar.update(self.tasks[kind], completed=done)

        return update

    def __exit__(self, *exc_info: object) -> None:
        self.bar.stop()


def _print_report(app: AppContext, report: ExportReport) -> None:
    table = Table("kind", "train", "validation", title=f"Exported to {report.out_dir}")
    for kind in report.kinds:
        counts = report.counts.get(kind, {})
        table.add_row(kind, f"{counts.get('train', 0):,}", f"{counts.get('validation', 0):,}")
    app.console.print(table)
    images = report.images
    human = report.human_decisions
    app.console.print(f"policy {report.policy.ref}; human decisions applied: {human.total:,} "
                      f"({human.overrides:,} overrides)")
    if images.copied_into_export or images.embedded_in_parquet:
        app.console.print(f"images: {images.linked:,} linked, {images.copied:,} copied, "
                          f"{images.missing_outputs:,} edited images missing, "
                          f"{images.missing_sources:,} source photos missing")
    for reason, n in sorted(report.skipped.items()):
        app.console.print(f"skipped {n:,}: {reason}")
    app.console.print(f"{len(report.files)} files in {report.seconds:.1f} s; "
                      f"card: {report.out_dir / 'README.md'}")


def register(cli) -> None:
    cli.add_command(export)
