"""The Export tab: choose splits, policy and formats; run the core export with a progress bar; show the dataset
card and the files written (under <workspace>/exports/, the only place the studio writes exports)."""

from __future__ import annotations

import html
import re

import gradio as gr
import pandas as pd

from picobanana.curation.export_runs import ExportRun, exports_root, run_export
from picobanana.errors import PicobananaError
from picobanana.io.export import FORMATS
from picobanana.io.pico_format import KINDS
from picobanana.store.policies import active_policy, list_policies

FILE_COLUMNS = ["path", "files", "size"]
IMAGE_MODES = [("copy image files into the folder", "copy"), ("embed images in Parquet", "embed")]
_FENCE = re.compile(r"^\s*(```|~~~)")
_CODE_SPAN = re.compile(r"(`[^`\n]*`)")


def safe_markdown(text: str) -> str:
    """Markdown whose HTML is inert: '&', '<' and '>' escaped outside code (code shows them as written).

    The card is our own text, but it quotes names from outside: import file paths, model names, a policy's
    note. None of it may become markup in the curator's browser.
    """
    out, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            out.append(line)
            continue
        if fenced:
            out.append(line)
            continue
        out.append("".join(part if part.startswith("`") and part.endswith("`") and len(part) > 1
                           else html.escape(part, quote=False) for part in _CODE_SPAN.split(line)))
    return "\n".join(out)


def card_body(card: str) -> str:
    """The card without its YAML front matter (metadata for the Hub, noise on screen)."""
    if card.startswith("---\n"):
        end = card.find("\n---\n", 4)
        if end != -1:
            return card[end + 5:]
    return card


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{n} B"


def files_frame(run: ExportRun) -> pd.DataFrame:
    return pd.DataFrame([[f.path, f.files, human_size(f.bytes)] for f in run.files], columns=FILE_COLUMNS)


def summary_text(run: ExportRun) -> str:
    r = run.report
    counts = ", ".join(f"{kind} {r.total(kind):,}" for kind in r.kinds)
    return (f"**Exported** {counts} records under policy `{r.policy.ref}` in {r.seconds:.1f} s.  \n"
            f"**Folder:** `{r.out_dir}` (the card is its `README.md`).")


def _policy_choices(store) -> tuple[list[str], str]:
    active = active_policy(store)
    return [f"{p.name}@{p.version}" for p in list_policies(store)], f"{active.name}@{active.version}"


def build(ctx, tabs=None) -> None:
    store = ctx.store
    defaults = ctx.settings.export
    gr.Markdown(f"Export the curated data: the policy decides judged attempts, human decisions always win. "
                f"Exports are written under `{exports_root(ctx.workspace)}`.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=2):
            splits = gr.CheckboxGroup(list(KINDS), value=list(KINDS), label="Splits", elem_id="pb-export-splits")
            policy = gr.Dropdown([""], value="", label="Policy (default: the active one)", allow_custom_value=True,
                                 elem_id="pb-export-policy")
            formats = gr.CheckboxGroup(list(FORMATS), value=list(FORMATS), label="Formats",
                                       elem_id="pb-export-formats")
            images = gr.CheckboxGroup(IMAGE_MODES, value=["copy", "embed"], label="Images",
                                      elem_id="pb-export-images")
            fraction = gr.Number(defaults.validation_fraction, label="Validation fraction (by source image)",
                                 minimum=0, maximum=0.99)
            name = gr.Textbox("", label="Folder name under exports/", placeholder="export-<date>-<time>",
                              elem_id="pb-export-name")
            overwrite = gr.Checkbox(False, label="Replace the folder if it holds a previous export")
            run_btn = gr.Button("Export", variant="primary", elem_id="pb-export-run")
        with gr.Column(scale=3):
            summary = gr.Markdown(elem_id="pb-export-summary")
            files = gr.Dataframe(value=pd.DataFrame(columns=FILE_COLUMNS), interactive=False, max_height=320,
                                 label="Files written", elem_id="pb-export-files")
            card = gr.Markdown(elem_id="pb-export-card", container=True)

    def export_run(splits, policy, formats, images, fraction, name, overwrite, progress=gr.Progress()):  # noqa: B008 - Gradio's idiom
        kinds = list(splits or [])
        position = {kind: i for i, kind in enumerate(kinds)}

        def on_progress(kind: str, done: int) -> None:
            # The core reports records so far per kind (the total is not known before the query ends).
            progress(position.get(kind, 0) / max(1, len(kinds)), desc=f"{kind}: {done:,} records")

        progress(0, desc="starting")
        try:
            run = run_export(store(), ctx.workspace, name=name, splits=kinds, formats=formats or [],
                             policy=policy or None, validation_fraction=float(fraction or 0),
                             copy_images="copy" in (images or []), embed_images="embed" in (images or []),
                             base_url=defaults.base_url, shard_rows=defaults.parquet_shard_rows,
                             overwrite=bool(overwrite), progress=on_progress)
        except PicobananaError as exc:
            raise gr.Error(str(exc)) from None
        return safe_markdown(summary_text(run)), files_frame(run), safe_markdown(card_body(run.card))

    def on_load():
        choices, active = _policy_choices(store())
        return gr.Dropdown(choices=choices, value=active)

    run_btn.click(export_run, [splits, policy, formats, images, fraction, name, overwrite], [summary, files, card],
                  api_name="export_run")
    gr.on(triggers=None, fn=on_load, inputs=None, outputs=[policy], api_visibility="private",
          show_progress="hidden")
