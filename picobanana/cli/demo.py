"""`picobanana demo`: a fresh workspace full of real, locally generated data."""

from __future__ import annotations

import click

from picobanana.cli.context import AppContext, pass_app
from picobanana.cli.generate import _print_summary, progress_reporter
from picobanana.demo import DEMO_PHOTOS, run_demo


@click.command()
@click.option("--chains", type=click.IntRange(0, 20), default=3, show_default=True,
              help="Multi-turn chains to grow from kept edits.")
@click.option("--seed", type=int, default=0, show_default=True)
@pass_app
def demo(app: AppContext, chains: int, seed: int) -> None:
    """Generate demo data from photos bundled with scikit-image, with the offline `local` backend.

    Runs every edit type the local backend can perform on each photo (3 attempts each), then grows
    multi-turn chains from kept edits: single-turn, preference and multi-turn data to browse and export.
    Running it again adds nothing new (the job's keys are deterministic).
    """
    credits = ", ".join(f"{p.title} ({p.license})" for p in DEMO_PHOTOS)
    app.err.print(f"Demo photos: {credits}.")
    with app.open_store() as store, progress_reporter(app, "demo") as progress:
        summary = run_demo(store, chains=chains, seed=seed, progress=progress)
    _print_summary(app, summary.as_dict())


def register(cli: click.Group) -> None:
    cli.add_command(demo)
