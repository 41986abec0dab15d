"""The `picobanana` command group. Each command lives in its own module and registers itself here."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from picobanana import __version__
from picobanana.cli.context import AppContext, pass_app  # noqa: F401 - re-exported for plugins
from picobanana.config import load_settings
from picobanana.errors import PicobananaError


class _Group(click.Group):
    """Turns our own errors into one clear line and exit code 2 instead of a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except PicobananaError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("-w", "--workspace", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Workspace folder (default: data/, or PICOBANANA_WORKSPACE).")
@click.option("-c", "--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="TOML config file (default: <workspace>/picobanana.toml, then ./picobanana.toml).")
@click.version_option(__version__, prog_name="picobanana")
@click.pass_context
def cli(ctx: click.Context, workspace: Path | None, config_file: Path | None) -> None:
    """Build, judge and curate instruction-based image-editing datasets (Pico-Banana-400K format).

    A workspace is a folder holding picobanana.sqlite and the content-addressed images. Start with
    `picobanana import FILE` to load released Pico-Banana JSONL, then `picobanana stats` and
    `picobanana export`.
    """
    ctx.obj = AppContext(load_settings(config_file, workspace=workspace))


def _register_commands() -> None:
    from picobanana.cli import (
        analytics,
        demo,
        exports,
        generate,
        imports,
        ingest,
        policies,
        studio,
        workspace,
    )
    from picobanana.cli import backends as backends_cli

    for module in (workspace, imports, ingest, generate, demo, exports, analytics, policies, backends_cli, studio):
        module.register(cli)


_register_commands()
