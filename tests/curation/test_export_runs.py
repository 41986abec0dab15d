"""Studio exports: only under <workspace>/exports/, with the card and the files (sizes) they wrote."""

from __future__ import annotations

import pytest
from pipeline.pipeline_helpers import add_sources, fakes

from picobanana.curation.export_runs import export_folder, exports_root, run_export
from picobanana.io.export import ExportError
from picobanana.pipeline import jobs
from picobanana.pipeline.runner import run_job
from picobanana.pipeline.spec import EditMix, JobSpec, RoleSettings
from picobanana.store import Store


@pytest.mark.parametrize("name", ["../outside", "/etc", "a/../../b", "~/x", "a//b", "sp ace", "a/./b", ".."])
def test_names_that_could_leave_the_exports_folder_are_refused(tmp_path, name):
    with pytest.raises(ExportError):
        export_folder(tmp_path, name)


def test_a_link_out_of_the_exports_folder_is_refused(tmp_path):
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "link").symlink_to(tmp_path.parent)
    with pytest.raises(ExportError, match="inside"):
        export_folder(tmp_path, "link/x")


def test_names_and_the_default(tmp_path):
    root = exports_root(tmp_path)
    assert export_folder(tmp_path, "v2/sft-only") == root / "v2" / "sft-only"
    assert export_folder(tmp_path, "  ").parent == root and export_folder(tmp_path, None).name.startswith("export-")


def test_run_export_writes_the_files_it_lists(tmp_path):
    with Store.open(tmp_path / "ws") as store:
        sources = add_sources(store, 3)
        spec = JobSpec(source_ids=sources, mix=EditMix(kind="each", type_ids=[1, 2]), attempts=2,
                       roles={r: RoleSettings(backend="fake") for r in ("writer", "rewriter", "editor", "judge")})
        run_job(store, jobs.create_job(store, spec), backends=fakes(judge={"script": [0.1]}))
        run = run_export(store, store.workspace, name="first", splits=["sft"], formats=["jsonl", "parquet"],
                         validation_fraction=0.0)
    assert run.report.out_dir == (tmp_path / "ws" / "exports" / "first").resolve()
    assert run.report.total("sft") == 6 and run.card.startswith("---\n")
    listed = {f.path: f for f in run.files}
    assert {"README.md", "export.json", "jsonl/train/sft.jsonl"} <= set(listed)
    for f in run.files:
        path = run.report.out_dir / f.path
        if f.path.endswith("/"):
            assert path.is_dir() and f.files == sum(1 for p in path.rglob("*") if p.is_file())
        else:
            assert f.files == 1 and f.bytes == path.stat().st_size > 0
    assert listed["images/positive-edit/"].files == 6
