"""The studio's Blocks: one tab per module in `tabs/`, in the order a curator works.

Each tab module has `build(ctx, tabs) -> None`, called inside its own `gr.Tab`; `tabs` is the `gr.Tabs`, so a
tab can switch to another (`gr.Tabs(selected="browse")`). The tab ids below are also the URL's `tab=` value.
"""

from __future__ import annotations

import importlib

import gradio as gr

from picobanana.studio.context import StudioContext

# (module in picobanana.studio.tabs, tab label, elem_id used by the browser tests and shortcuts)
TABS = (
    ("browse", "Browse", "tab-browse"),
    ("review", "Review queue", "tab-review"),
    ("policy", "Policy", "tab-policy"),
    ("generate", "Generate", "tab-generate"),
    ("chains", "Chains", "tab-chains"),
    ("stats", "Stats", "tab-stats"),
    ("export", "Export", "tab-export"),
)


def build_app(ctx: StudioContext) -> gr.Blocks:
    with gr.Blocks(title="picobanana studio") as app:
        with gr.Row(elem_id="studio-header"):
            gr.Markdown(f"### picobanana studio · workspace `{ctx.workspace}`")
        with gr.Tabs(elem_id="studio-tabs") as tabs:
            for module_name, label, elem_id in TABS:
                with gr.Tab(label, id=module_name, elem_id=elem_id):
                    importlib.import_module(f"picobanana.studio.tabs.{module_name}").build(ctx, tabs=tabs)
    return app
