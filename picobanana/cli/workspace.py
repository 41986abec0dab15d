"""`picobanana init` and `picobanana info`: create a workspace and see what is in it."""

from __future__ import annotations

import click
from rich.table import Table

from picobanana.cli.context import AppContext, pass_app
from picobanana.store.summary import summarize


@click.command()
@pass_app
def init(app: AppContext) -> None:
    """Create the workspace folder and database (idempotent; migrates an older one)."""
    with app.open_store() as store:
        summary = summarize(store)
    app.console.print(f"Workspace ready: {summary.workspace} (schema v{summary.schema_version}, "
                      f"active policy {summary.active_policy})")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@pass_app
def info(app: AppContext, as_json: bool) -> None:
    """Show the workspace: location, schema version, row counts, image bytes, active policy."""
    with app.open_store() as store:
        summary = summarize(store)
    if as_json:
        click.echo(summary.model_dump_json(indent=2))
        return
    table = Table(title=f"Workspace {summary.workspace}", show_header=False)
    table.add_row("database", summary.database)
    table.add_row("schema version", str(summary.schema_version))
    table.add_row("revision", str(summary.revision))
    table.add_row("active policy", summary.active_policy)
    table.add_row("image store", f"{summary.image_bytes / 1e6:,.1f} MB")
    for name, count in summary.counts.items():
        table.add_row(name, f"{count:,}")
    app.console.print(table)


def register(cli: click.Group) -> None:
    cli.add_command(init)
    cli.add_command(info)
