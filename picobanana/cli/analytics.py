"""`picobanana stats` (counts, pass rates, histograms from the DuckDB mirror) and `picobanana list` (keyset pages
of attempts straight from SQLite)."""

from __future__ import annotations

import click
import orjson
from rich import box
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from picobanana.analytics import Histogram, StatsReport, open_mirror, stats_report
from picobanana.cli.context import AppContext, pass_app
from picobanana.errors import InputError
from picobanana.store.paging import AttemptFilter, page_attempts
from picobanana.store.policies import get_policy
from picobanana.taxonomy import (
    UnknownEditType,
    category_by_id,
    category_by_name,
    edit_type_by_id,
    edit_type_by_slug,
    resolve_edit_type,
)

# Refreshes copying fewer rows than this finish before a progress bar would be worth drawing.
PROGRESS_MIN_ROWS = 50_000
BLOCKS = " ▏▎▍▌▋▊▉█"


@click.command("stats")
@click.option("--by", type=click.Choice(["all", "category", "edit-type"]), default="all", show_default=True,
              help="Which table to print.")
@click.option("--histogram", is_flag=True, help="Also draw score distributions (weighted score and sub-scores).")
@click.option("--bins", type=click.IntRange(2, 100), default=20, show_default=True, help="Histogram bins.")
@click.option("-p", "--policy", help="Policy NAME[@VERSION] or id to judge by (default: the active one).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of tables.")
@pass_app
def stats(app: AppContext, by: str, histogram: bool, bins: int, policy: str | None, as_json: bool) -> None:
    """Counts and pass rates by category and edit type, beside the paper's success rates.

    Reads a DuckDB mirror of the workspace (<workspace>/analytics/mirror.duckdb), refreshed first with only
    what changed since the last run. Pass rate = keep / (keep + fail) over turn-1 attempts outside chains:
    per attempt (comparable to the paper's per-type rate) and per edit (kept on any attempt).
    """
    with app.open_store() as store:
        chosen = get_policy(store, policy) if policy else None
        with _RefreshProgress(app) as on_progress:
            mirror = open_mirror(store, progress=on_progress)
        with mirror:
            report = stats_report(mirror, chosen, histograms=histogram, bins=bins)
    if as_json:
        click.echo(orjson.dumps(report.model_dump(mode="json"), option=orjson.OPT_INDENT_2).decode())
        return
    _print_stats(app, report, by)


class _RefreshProgress:
    """A progress bar for the mirror refresh, drawn only when the refresh copies many rows."""

    def __init__(self, app: AppContext):
        self.app = app
        self.bar: Progress | None = None
        self.task = None

    def __enter__(self):
        def update(table: str, done: int, total: int) -> None:
            if self.bar is None:
                if total < PROGRESS_MIN_ROWS:
                    return
                self.bar = Progress(TextColumn("refreshing analytics: {task.description}"), BarColumn(),
                                    TextColumn("{task.completed:,}/{task.total:,} rows"), TimeElapsedColumn(),
                                    console=self.app.err, transient=True)
                self.bar.start()
                self.task = self.bar.add_task(table, total=total)
            self.bar.update(self.task, description=table, completed=done, total=total)

        return update

    def __exit__(self, *exc_info: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _paper_rate(edit_type_id: int | None) -> str:
    """The paper's per-type success rate, or its word for the text types it called "unstable"."""
    if edit_type_id is None:
        return "–"
    edit_type = edit_type_by_id(edit_type_id)
    return _pct(edit_type.paper_success) if edit_type.paper_success is not None else (edit_type.paper_note or "–")


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _print_stats(app: AppContext, report: StatsReport, by: str) -> None:
    out = app.console
    t = report.totals
    out.print(f"[bold]{t.attempts:,}[/] attempts in {t.edits:,} edits of {t.sources:,} source images; "
              f"{t.chains:,} chains ({t.chain_attempts:,} attempts); {t.judged:,} judged; "
              f"{t.human_decisions:,} human decisions. Policy [bold]{report.policy}[/], revision {report.revision}.")
    out.print("Counts below: turn-1 attempts outside chains. Pass rate = keep / (keep + fail).")
    narrow = out.width < 110  # leave out the least needed column rather than cut numbers
    if by in ("all", "category"):
        rows = [(c.name, c) for c in report.stats.categories] + [("[bold]total[/]", report.stats.total)]
        table = _table("By category", ("category", "attempts", "share", "keep", "fail", "pending", "pass/att",
                                       "edits", "pass/edit"), drop=("edits", "pending") if narrow else (), width=out.width)
        total = max(report.stats.total.attempts, 1)
        for name, c in rows:
            table.add_row(name, f"{c.attempts:,}", _pct(c.attempts / total if c.attempts else None),
                          f"{c.keep:,}", f"{c.fail:,}", f"{c.pending:,}", _pct(c.attempt_pass_rate),
                          f"{c.edits:,}", _pct(c.edit_pass_rate))
        out.print(table)
    if by in ("all", "edit-type"):
        table = _table("By edit type (paper = the paper's per-type success rate, where published)",
                       ("#", "edit type", "attempts", "keep", "fail", "pending", "pass/att", "paper", "pass/edit"),
                       drop=("pending", "pass/edit") if narrow else (), width=out.width)
        for e in report.stats.edit_types:
            table.add_row(str(e.edit_type_id or ""), e.name, f"{e.attempts:,}", f"{e.keep:,}", f"{e.fail:,}",
                          f"{e.pending:,}", _pct(e.attempt_pass_rate), _paper_rate(e.edit_type_id),
                          _pct(e.edit_pass_rate))
        out.print(table)
    a = report.agreement
    if a.attempts:
        m = a.matrix
        kappa = "–" if a.kappa is None else f"{a.kappa:.2f}"
        out.print(f"Judge vs human on {a.attempts:,} attempts: agreement {_pct(a.agreement)}, kappa {kappa} "
                  f"(judge keep→human keep {m['keep']['keep']:,}, keep→fail {m['keep']['fail']:,}, "
                  f"fail→keep {m['fail']['keep']:,}, fail→fail {m['fail']['fail']:,}).")
    if report.histograms:
        out.print(_score_histogram(report.histograms[0], report.threshold))
        out.print(_subscore_histograms(report.histograms[1:]))


class _DroppingTable(Table):
    """A table that silently leaves out some of the columns it is given rows for (for narrow terminals)."""

    def __init__(self, *args, keep: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.keep = keep

    def add_row(self, *cells, **kwargs) -> None:
        super().add_row(*(cells[i] for i in self.keep), **kwargs)


def _table(title: str, names: tuple[str, ...], drop: tuple[str, ...], width: int) -> Table:
    """Number columns never wrap or shrink; the name column takes what is left, cut with an ellipsis."""
    kept = [n for n in names if n not in drop]
    numbers = [n for n in kept if n not in ("category", "edit type", "#")]
    name_width = max(12, width - 10 * len(numbers) - 3 * ("#" in kept) - 1)
    # SIMPLE_HEAD separates columns by one space; no padding, so a number column costs its width + 1.
    table = _DroppingTable(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=0,
                           show_edge=False, keep=[names.index(n) for n in kept])
    for name in kept:
        if name in ("category", "edit type"):
            table.add_column(name, no_wrap=True, overflow="ellipsis", max_width=name_width)
        else:
            table.add_column(name, justify="right", no_wrap=True, min_width=2 if name == "#" else 9)
    return table


def _bar(value: int, peak: int, width: int = 40) -> str:
    if peak <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / peak * width * 8))
    return "█" * (eighths // 8) + (BLOCKS[eighths % 8] if eighths % 8 else "")


def _score_histogram(h: Histogram, threshold: float) -> Table:
    table = Table(title=f"Weighted score under the policy, {sum(h.counts):,} judged attempts", title_justify="left",
                  box=None, padding=(0, 1))
    table.add_column("score", justify="right")
    table.add_column("attempts", justify="right")
    table.add_column("")
    peak = max(h.counts, default=0)
    bins = len(h.counts)
    threshold_bin = min(int(threshold * bins + 1e-9), bins - 1)  # the same binning as the query
    for i, n in enumerate(h.counts):
        mark = f"  ◀ threshold {threshold:g}" if i == threshold_bin else ""
        table.add_row(f"{h.edges[i]:.2f}–{h.edges[i + 1]:.2f}", f"{n:,}",
                      f"[cyan]{_bar(n, peak)}[/]{mark}")
    return table


def _subscore_histograms(histograms: list[Histogram], width: int = 14) -> Table:
    table = Table(title="Sub-scores (bars scaled per column)", title_justify="left", box=None, padding=(0, 1))
    table.add_column("score", justify="right")
    for h in histograms:
        table.add_column(h.measure, style="cyan", min_width=width, no_wrap=True)
    if not histograms:
        return table
    peaks = [max(h.counts, default=0) for h in histograms]
    for i in range(len(histograms[0].counts)):
        edges = histograms[0].edges
        table.add_row(f"{edges[i]:.2f}–{edges[i + 1]:.2f}",
                      *(_bar(h.counts[i], peak, width) for h, peak in zip(histograms, peaks, strict=True)))
    return table


# -- list ---------------------------------------------------------------------------------------------------

SORT_CHOICES = {"score": "score_desc", "score-asc": "score_asc", "newest": "newest"}


def _category_id(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return category_by_id(int(value)).id if value.isdigit() else category_by_name(value).id
    except KeyError as exc:
        raise InputError(str(exc.args[0])) from None


def _edit_type_id(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        if value.isdigit():
            return edit_type_by_id(int(value)).id
        try:
            return edit_type_by_slug(value).id
        except KeyError:
            return resolve_edit_type(value)[0].id
    except (KeyError, UnknownEditType) as exc:
        raise InputError(str(exc.args[0]) if isinstance(exc, KeyError) else str(exc)) from None


@click.command("list")
@click.option("-C", "--category", help="Category id, name or slug (e.g. 2, human-centric).")
@click.option("-t", "--edit-type", help="Edit type id, slug or name (e.g. 13, style-transfer).")
@click.option("-v", "--verdict", type=click.Choice(["keep", "fail", "pending"]), help="Effective verdict.")
@click.option("--origin", type=click.Choice(["release", "pipeline", "ingest", "demo"]))
@click.option("--status", help="Attempt status (ok, rejected, no_image, ...).")
@click.option("--turn", type=click.IntRange(1), help="Turn number (1 = single-turn or first turn).")
@click.option("-s", "--sort", type=click.Choice(list(SORT_CHOICES)), default="score", show_default=True,
              help="score = best first (unjudged last); score-asc = worst first; newest = latest attempt first.")
@click.option("-n", "--limit", type=click.IntRange(1, 1000), default=48, show_default=True)
@click.option("--after", "cursor", help="Cursor printed by the previous page.")
@click.option("-p", "--policy", help="Policy NAME[@VERSION] or id (default: the active one).")
@click.option("--json", "as_json", is_flag=True, help="Print the page as JSON.")
@pass_app
def list_attempts(app: AppContext, category: str | None, edit_type: str | None, verdict: str | None,
                  origin: str | None, status: str | None, turn: int | None, sort: str, limit: int,
                  cursor: str | None, policy: str | None, as_json: bool) -> None:
    """List attempts page by page, filtered and sorted, with the cursor of the next page.

    Pages come straight from the workspace database with keyset pagination, so page 5,000 is as fast as
    page 1. Continue with the same options plus --after CURSOR.
    """
    flt = AttemptFilter(category_id=_category_id(category), edit_type_id=_edit_type_id(edit_type),
                        verdict=verdict, origin=origin, status=status, turn=turn)
    with app.open_store() as store:
        chosen = get_policy(store, policy) if policy else None
        page = page_attempts(store, flt, sort=SORT_CHOICES[sort], after=cursor, limit=limit, policy=chosen)
    if as_json:
        click.echo(orjson.dumps(page.model_dump(mode="json"), option=orjson.OPT_INDENT_2).decode())
        return
    table = Table(box=box.SIMPLE_HEAD, padding=0, show_edge=False)
    table.add_column("attempt", justify="right", no_wrap=True, min_width=7)
    table.add_column("edit", justify="right", no_wrap=True, min_width=6)
    table.add_column("type", no_wrap=True, overflow="ellipsis", max_width=18)
    table.add_column("turn", justify="right", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True, min_width=5)
    table.add_column("verdict", no_wrap=True, min_width=14)
    table.add_column("output", no_wrap=True, overflow="ellipsis", max_width=28)
    # Only the instruction gives way on a narrow terminal; ids must stay whole to be usable.
    # (rich shrinks every no-wrap column alike, so the instruction gets an explicit share of the width).
    table.add_column("instruction", no_wrap=True, overflow="ellipsis",
                     max_width=max(10, app.console.width - 86))
    for item in page.items:
        kind = edit_type_by_id(item.edit_type_id).slug if item.edit_type_id else "–"
        output = item.output_ref or (item.output_sha256[:12] if item.output_sha256 else "–")
        table.add_row(str(item.attempt_id), str(item.edit_id), kind, str(item.turn),
                      "–" if item.score is None else f"{item.score:.3f}",
                      f"{item.verdict} ({item.verdict_source})", output, item.short_instruction or "")
    app.console.print(table)
    if page.next_cursor:
        app.console.print(f"next page: --after {page.next_cursor}", soft_wrap=True)
    else:
        app.console.print(f"{len(page.items)} on this page; no more pages.")


def register(cli) -> None:
    cli.add_command(stats)
    cli.add_command(list_attempts)
