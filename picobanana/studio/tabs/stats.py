"""The Stats tab: pass rate per edit type beside the paper's, category distribution, score histograms,
judge-vs-human agreement and curator throughput — charts and tables, refreshed when the tab is shown.

Everything is read from the kept-open DuckDB mirror (`analytics.queries`) under the active policy, except
curator throughput, which reads the reviews log (`analytics.throughput`). The callbacks only format.
"""

from __future__ import annotations

import html

import gradio as gr
import pandas as pd

from picobanana.analytics.queries import agreement, score_histograms, stats, totals
from picobanana.analytics.throughput import curator_throughput
from picobanana.curation.tuning import live_mirror
from picobanana.taxonomy import CATEGORIES

MEASURE_LABELS = {"score": "weighted score", "compliance": "instruction compliance", "seamlessness": "seamlessness",
                  "preservation": "preservation balance", "quality": "technical quality"}
THROUGHPUT_DAYS = 30


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def _summary(report, total, agree, throughput) -> str:
    t = report.total
    kappa = "–" if agree.kappa is None else f"{agree.kappa:.2f}"
    return (
        f"**Policy {html.escape(report.policy)}** · revision {report.revision} · {total.attempts:,} attempts "
        f"({total.judged:,} judged, {total.human_decisions:,} with a human decision, {total.chains:,} chains)  \n"
        f"Single-turn attempts: {t.attempts:,} · keep {t.keep:,} · fail {t.fail:,} · pending {t.pending:,} · "
        f"pass rate per attempt {_pct(t.attempt_pass_rate)}, per edit {_pct(t.edit_pass_rate)} · "
        f"judge–human agreement {_pct(agree.agreement)} on {agree.attempts:,} attempts (κ {kappa}) · "
        f"{throughput.decisions:,} human decisions in the last {THROUGHPUT_DAYS} days")


def _edit_type_table(report) -> pd.DataFrame:
    from picobanana.taxonomy import edit_type_by_id

    rows = []
    for e in report.edit_types:
        known = e.edit_type_id and 1 <= e.edit_type_id <= 35
        note = edit_type_by_id(e.edit_type_id).paper_note if known else None
        category = next((c.name for c in CATEGORIES if c.id == e.category_id), "–")
        diff = (f"{(e.attempt_pass_rate - e.paper_success) * 100:+.1f} pp"
                if e.attempt_pass_rate is not None and e.paper_success is not None else "–")
        rows.append([e.name, category, e.attempts, e.keep, e.fail, _pct(e.attempt_pass_rate), _pct(e.edit_pass_rate),
                     _pct(e.paper_success), diff, note or ""])
    return pd.DataFrame(rows, columns=["Edit type", "Category", "Attempts", "Keep", "Fail", "Pass rate (ours)",
                                       "Per edit (ours)", "Paper", "Ours − paper", "Paper note"])


def _pass_rate_charts(report) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Our pass rate per edit type; and ours − the paper's, in percentage points, where both exist (a native
    bar plot stacks by colour, so the two series are not drawn as side-by-side bars)."""
    ours = pd.DataFrame([{"edit type": e.name, "pass rate": round(e.attempt_pass_rate, 4)}
                         for e in report.edit_types if e.attempt_pass_rate is not None],
                        columns=["edit type", "pass rate"])
    diff = pd.DataFrame([{"edit type": e.name, "ours − paper (pp)": round((e.attempt_pass_rate - e.paper_success) * 100, 1),
                          "side": "above the paper" if e.attempt_pass_rate >= e.paper_success else "below the paper"}
                         for e in report.edit_types
                         if e.attempt_pass_rate is not None and e.paper_success is not None],
                        columns=["edit type", "ours − paper (pp)", "side"])
    return ours, diff


def _category_outputs(report) -> tuple[pd.DataFrame, pd.DataFrame]:
    table = pd.DataFrame([[c.name, c.attempts, f"{c.share * 100:.1f} %", c.keep, c.fail, c.pending,
                           _pct(c.attempt_pass_rate), c.edits] for c in report.categories],
                         columns=["Category", "Attempts", "Share", "Keep", "Fail", "Pending", "Pass rate", "Edits"])
    chart = pd.DataFrame([{"category": c.name, "verdict": v, "attempts": getattr(c, v)}
                          for c in report.categories for v in ("keep", "fail", "pending")])
    return table, chart


def _histogram_frames(histograms) -> tuple[pd.DataFrame, pd.DataFrame]:
    score = next(h for h in histograms if h.measure == "score")
    # Bins as labels ("0.70–0.75"): a band axis draws them as bars of full width, in order.
    bars = pd.DataFrame([{"bin": f"{score.edges[i]:.2f}–{score.edges[i + 1]:.2f}", "attempts": n}
                         for i, n in enumerate(score.counts)], columns=["bin", "attempts"])
    lines = pd.DataFrame([{"bin start": round(h.edges[i], 3), "measure": MEASURE_LABELS[h.measure], "attempts": n}
                          for h in histograms if h.measure != "score" for i, n in enumerate(h.counts)],
                         columns=["bin start", "measure", "attempts"])
    return bars, lines


def _agreement_outputs(agree) -> tuple[pd.DataFrame, str]:
    m = agree.matrix
    table = pd.DataFrame([["judge: keep", m["keep"]["keep"], m["keep"]["fail"]],
                          ["judge: fail", m["fail"]["keep"], m["fail"]["fail"]]],
                         columns=["", "human: keep", "human: fail"])
    if not agree.attempts:
        return table, "No attempt has both a judgment and a human decision yet."
    kappa = "–" if agree.kappa is None else f"{agree.kappa:.2f}"
    return table, (f"On {agree.attempts:,} attempts with both: agreement {_pct(agree.agreement)}, "
                   f"Cohen's κ {kappa}. Off the diagonal: the judge kept what a human failed "
                   f"({m['keep']['fail']:,}) and failed what a human kept ({m['fail']['keep']:,}).")


def _throughput_outputs(throughput) -> tuple[pd.DataFrame, pd.DataFrame]:
    chart = pd.DataFrame([{"day": d.day, "curator": d.curator, "decisions": d.decisions} for d in throughput.days],
                         columns=["day", "curator", "decisions"])
    table = pd.DataFrame([[c.curator, c.decisions, c.days_active, round(c.per_active_day, 1)]
                          for c in throughput.curators],
                         columns=["Curator", f"Decisions ({THROUGHPUT_DAYS} days)", "Days active",
                                  "Per active day"])
    return chart, table


def build(ctx, tabs=None) -> None:
    with gr.Row():
        summary = gr.Markdown("Open this tab to load the statistics.", elem_id="stats-summary")
        refresh = gr.Button("Refresh", size="sm", scale=0, elem_id="stats-refresh")
    gr.Markdown("#### Pass rate per edit type (single-turn attempts, the active policy; the paper's rates where "
                "it published them)")
    with gr.Row():
        pass_chart = gr.BarPlot(x="edit type", y="pass rate", label="Pass rate per attempt (ours)", scale=3,
                                elem_id="stats-pass-rate-chart", x_label_angle=-60, height=340, y_lim=[0, 1])
        paper_chart = gr.BarPlot(x="edit type", y="ours − paper (pp)", color="side", scale=2,
                                 label="Ours − the paper's rate, percentage points", elem_id="stats-paper-chart",
                                 x_label_angle=-60, height=340,
                                 color_map={"above the paper": "#2e7d32", "below the paper": "#c62828"})
    edit_types = gr.Dataframe(label="Per edit type", elem_id="stats-edit-types", interactive=False, max_height=420)
    with gr.Row():
        with gr.Column():
            gr.Markdown("#### Category distribution")
            category_chart = gr.BarPlot(x="category", y="attempts", color="verdict", label="Attempts per category",
                                        elem_id="stats-category-chart", x_label_angle=-25, height=300,
                                        color_map={"keep": "#2e7d32", "fail": "#c62828", "pending": "#9e9e9e"})
            categories = gr.Dataframe(label="Per category", elem_id="stats-categories", interactive=False)
        with gr.Column():
            gr.Markdown("#### Score histograms (judged single-turn attempts)")
            score_chart = gr.BarPlot(x="bin", y="attempts", x_label_angle=-45, label="Weighted score (the active policy)",
                                     elem_id="stats-score-histogram", height=220)
            subscore_chart = gr.LinePlot(x="bin start", y="attempts", color="measure", label="The four sub-scores",
                                         elem_id="stats-subscore-histogram", height=240)
    with gr.Row():
        with gr.Column():
            gr.Markdown("#### Judge vs human")
            confusion = gr.Dataframe(label="Confusion matrix (attempts)", elem_id="stats-agreement",
                                     interactive=False)
            agreement_text = gr.Markdown(elem_id="stats-agreement-text")
        with gr.Column():
            gr.Markdown(f"#### Curator throughput (decisions per day, last {THROUGHPUT_DAYS} days, UTC)")
            throughput_chart = gr.BarPlot(x="day", y="decisions", color="curator", label="Decisions per day",
                                          elem_id="stats-throughput-chart", height=240)
            throughput_table = gr.Dataframe(label="Per curator", elem_id="stats-throughput", interactive=False)

    outputs = [summary, pass_chart, paper_chart, edit_types, category_chart, categories, score_chart, subscore_chart, confusion,
               agreement_text, throughput_chart, throughput_table]

    def refresh_fn():
        """Every figure of the tab under the active policy, from the mirror (refreshed) and the reviews log."""
        mirror = live_mirror(ctx.workspace).fresh()
        policy = mirror.active_policy()
        report = stats(mirror, policy)
        agree = agreement(mirror, policy)
        throughput = curator_throughput(ctx.store(), days=THROUGHPUT_DAYS)
        category_table, category_frame = _category_outputs(report)
        score_frame, subscore_frame = _histogram_frames(score_histograms(mirror, policy, bins=20))
        confusion_table, agreement_md = _agreement_outputs(agree)
        throughput_frame, throughput_rows = _throughput_outputs(throughput)
        return (_summary(report, totals(mirror), agree, throughput), *_pass_rate_charts(report),
                _edit_type_table(report), category_frame, category_table, score_frame, subscore_frame,
                confusion_table, agreement_md, throughput_frame, throughput_rows)

    refresh.click(refresh_fn, outputs=outputs, api_name="stats_refresh")
    tab = gr.context.Context.block
    if isinstance(tab, gr.Tab):
        tab.select(refresh_fn, outputs=outputs, api_visibility="private", show_progress="minimal")
