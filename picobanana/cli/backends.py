"""`picobanana backends check`: for each role of a job spec, does its service answer and which model it serves.

A backend is checkable when it has an async `check()` returning {"ok", "model", "detail", ...} (the vLLM
backend asks GET /v1/models); other backends are reported as "not checkable". The per-role work is in
`check_roles` (plain async code, testable without the CLI).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click
from rich.table import Table

from picobanana.backends.base import ROLES
from picobanana.backends.registry import create_backend
from picobanana.cli.context import AppContext, pass_app
from picobanana.cli.generate import build_spec
from picobanana.errors import PicobananaError
from picobanana.pipeline.spec import JobSpec

CHECK_TIMEOUT_S = 15.0


async def _check_one(role: str, spec: JobSpec) -> dict:
    settings = spec.role(role)
    row = {"role": role, "backend": settings.backend, "ok": None, "model": None, "detail": ""}
    try:
        backend = create_backend(role, settings.backend, settings.options)
    except PicobananaError as exc:
        return row | {"ok": False, "detail": str(exc)}
    check = getattr(backend, "check", None)
    if check is None:
        return row | {"detail": "not checkable"}
    try:
        result = await asyncio.wait_for(check(), min(settings.timeout_s, CHECK_TIMEOUT_S))
    except TimeoutError:
        return row | {"ok": False, "detail": f"no answer within {min(settings.timeout_s, CHECK_TIMEOUT_S):g} s"}
    except Exception as exc:  # noqa: BLE001 — a check must report, never crash the listing
        return row | {"ok": False, "detail": f"{type(exc).__name__}: {exc}"}
    return row | dict(result)


async def check_roles(spec: JobSpec) -> list[dict]:
    """One row per role: role, backend, ok (True/False/None = not checkable), model, detail (+ backend extras)."""
    return list(await asyncio.gather(*(_check_one(role, spec) for role in ROLES)))


@click.group("backends")
def backends_group() -> None:
    """Inspect the configured model backends."""


@backends_group.command("check")
@click.option("--spec", "spec_file", type=click.Path(dir_okay=False, path_type=Path), help="A JobSpec as JSON.")
@click.option("--backend", multiple=True, help="NAME for every role, or ROLE=NAME (ROLE: writer/rewriter/editor/judge/all).")
@click.option("--backend-options", "options", multiple=True, help="JSON options for every role, or ROLE=JSON (merged over all=).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_app
def check_command(app: AppContext, spec_file: Path | None, backend: tuple[str, ...], options: tuple[str, ...],
                  as_json: bool) -> None:
    """Ask each role's service whether it answers and which model it serves. Exit code 1 if any check fails."""
    spec = build_spec(spec_file, None, None, None, 0, (), backend, options, (), (), (), None, None, None, None, None)
    rows = asyncio.run(check_roles(spec))
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
    else:
        table = Table(title="backends")
        for column in ("role", "backend", "status", "model", "detail"):
            table.add_column(column)
        for row in rows:
            status = {True: "[green]ok[/]", False: "[red]FAILED[/]", None: "-"}[row["ok"]]
            table.add_row(row["role"], row["backend"], status, str(row.get("model") or ""), str(row["detail"]))
        app.console.print(table)
    if any(row["ok"] is False for row in rows):
        raise SystemExit(1)


def register(cli: click.Group) -> None:
    cli.add_command(backends_group)
