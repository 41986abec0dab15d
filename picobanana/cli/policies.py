"""`picobanana policy ...` and `picobanana review ...`: judging policies and human decisions."""

from __future__ import annotations

import click
from rich.table import Table

from picobanana.cli.context import AppContext, pass_app
from picobanana.store import (
    CategoryRule,
    Policy,
    Weights,
    activate_policy,
    active_policy,
    get_policy,
    list_policies,
    record_review,
    review_history,
    save_policy,
    undo_batch,
)
from picobanana.taxonomy import category_by_name


@click.group()
def policy() -> None:
    """Judging policies: weights of the four judge criteria and the keep threshold."""


@policy.command("list")
@pass_app
def policy_list(app: AppContext) -> None:
    """List every saved policy version; the active one is marked with *."""
    with app.open_store() as store:
        active = active_policy(store).id
        table = Table("", "policy", "compl.", "seam.", "pres.", "qual.", "thresh.", "per-cat.", "note")
        for p in list_policies(store):
            w = p.weights
            table.add_row("*" if p.id == active else "", f"{p.name}@{p.version}", f"{w.compliance:.3f}",
                          f"{w.seamlessness:.3f}", f"{w.preservation:.3f}", f"{w.quality:.3f}",
                          f"{p.threshold:.3f}", str(len(p.per_category)), p.note or "")
    app.console.print(table)


@policy.command("show")
@click.argument("ref", required=False)
@pass_app
def policy_show(app: AppContext, ref: str | None) -> None:
    """Show a policy as JSON (default: the active one). REF is NAME, NAME@VERSION or an id."""
    with app.open_store() as store:
        p = get_policy(store, ref) if ref else active_policy(store)
    click.echo(p.model_dump_json(indent=2))


def _parse_category_rules(values: tuple[str, ...]) -> dict[int, CategoryRule]:
    rules: dict[int, CategoryRule] = {}
    for value in values:
        name, _, threshold = value.rpartition("=")
        if not name:
            raise click.BadParameter(f"expected CATEGORY=THRESHOLD, got {value!r}", param_hint="--category")
        try:
            rules[category_by_name(name).id] = CategoryRule(threshold=float(threshold))
        except KeyError as exc:
            raise click.BadParameter(f"unknown category {name!r}", param_hint="--category") from exc
    return rules


@policy.command("save")
@click.argument("name")
@click.option("--compliance", type=float, default=0.40, show_default=True)
@click.option("--seamlessness", type=float, default=0.25, show_default=True)
@click.option("--preservation", type=float, default=0.20, show_default=True)
@click.option("--quality", type=float, default=0.15, show_default=True)
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.7, show_default=True)
@click.option("--category", "categories", multiple=True, metavar="CATEGORY=THRESHOLD",
              help="A category's own threshold, e.g. 'Text & Symbol=0.6' (repeatable).")
@click.option("--note", default=None)
@click.option("--activate", is_flag=True, help="Make it the active policy.")
@pass_app
def policy_save(app: AppContext, name: str, compliance: float, seamlessness: float, preservation: float,
                quality: float, threshold: float, categories: tuple[str, ...], note: str | None,
                activate: bool) -> None:
    """Save NAME as a new version (weights are normalised to sum to 1)."""
    p = Policy(name=name, weights=Weights(compliance=compliance, seamlessness=seamlessness,
                                          preservation=preservation, quality=quality),
               threshold=threshold, per_category=_parse_category_rules(categories), note=note)
    with app.open_store() as store:
        saved = save_policy(store, p, created_by=app.settings.curator)
        if activate:
            activate_policy(store, saved.id, activated_by=app.settings.curator)
    app.console.print(f"Saved {saved.name}@{saved.version}{' (active)' if activate else ''}")


@policy.command("activate")
@click.argument("ref")
@pass_app
def policy_activate(app: AppContext, ref: str) -> None:
    """Make REF the active policy. Human decisions are untouched; judged verdicts follow the new policy."""
    with app.open_store() as store:
        p = activate_policy(store, ref, activated_by=app.settings.curator)
    app.console.print(f"Active policy: {p.name}@{p.version}")


@click.command()
@click.argument("attempt_id", type=int)
@click.argument("verdict", type=click.Choice(["keep", "fail", "clear"]))
@click.option("--reason", default=None, help="Why (kept in the audit log).")
@pass_app
def review(app: AppContext, attempt_id: int, verdict: str, reason: str | None) -> None:
    """Record a human decision on ATTEMPT_ID (clear = let the policy decide again)."""
    with app.open_store() as store:
        event = record_review(store, attempt_id, None if verdict == "clear" else verdict,
                              curator=app.settings.curator, reason=reason)
    app.console.print(f"Review #{event.id}: attempt {attempt_id} {event.old_verdict} → "
                      f"{event.new_verdict or 'policy'} by {event.curator}")


@click.command()
@click.argument("attempt_id", type=int)
@pass_app
def audit(app: AppContext, attempt_id: int) -> None:
    """Show the audit history (every human decision) of ATTEMPT_ID."""
    with app.open_store() as store:
        events = review_history(store, attempt_id)
    table = Table("#", "when", "curator", "old", "new", "reason", "batch")
    for e in events:
        table.add_row(str(e.id), e.created_at, e.curator, e.old_verdict or "", e.new_verdict or "policy",
                      e.reason or "", (e.batch_id or "")[:8])
    app.console.print(table)


@click.command("undo-batch")
@click.argument("batch_id")
@pass_app
def undo(app: AppContext, batch_id: str) -> None:
    """Undo a batch of decisions (appends restoring events; later decisions are left alone)."""
    with app.open_store() as store:
        undo_id = undo_batch(store, batch_id, curator=app.settings.curator)
    app.console.print(f"Undone as batch {undo_id}")


def register(cli: click.Group) -> None:
    cli.add_command(policy)
    cli.add_command(review)
    cli.add_command(audit)
    cli.add_command(undo)
