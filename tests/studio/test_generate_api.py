"""The Generate tab through its API (gradio_client): estimate, start a small local job, poll it to done,
failures, cancel and resume, uploads with a bad file."""

from __future__ import annotations

import time

import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError

from picobanana.pipeline import jobs
from picobanana.store import Store

SMALL = {"source_ids": "1", "types": ["color-tone", "film-grain"], "attempts": 1}


def _jobs(client) -> list[dict]:
    table = client.predict(api_name="/jobs_list")
    return [dict(zip(table["headers"], row, strict=True)) for row in table["data"]]


def _wait_for(client, job_id: int, states: tuple[str, ...], timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = next(r for r in _jobs(client) if int(r["job"]) == job_id)
        if row["status"] in states:
            return row
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not reach {states}: {row}")


def test_estimate_shows_the_plan_and_its_cost(client):
    text = client.predict(**SMALL, api_name="/generate_estimate")
    assert "2 items" in text and "from 1 sources" in text and "$0.0000" in text
    text = client.predict(source_ids="1, 999", types=[], attempts=3, api_name="/generate_estimate")
    assert "35 items" in text and "999" in text  # every type; the unknown source is named
    with pytest.raises(AppError, match="not a number"):
        client.predict(source_ids="1, x", api_name="/generate_estimate")
    with pytest.raises(AppError, match="invalid JSON"):
        client.predict(**SMALL, options_json="{nope", api_name="/generate_estimate")
    fake = {role: "fake" for role in ("writer", "rewriter", "editor", "judge")}
    priced = client.predict(**SMALL, **fake, spec_json='{"prices": {"fake": {"per_call": 0.01}}}',
                            api_name="/generate_estimate")
    assert "$0.0800 min" in priced and "$0.0400 per attempt" in priced  # 2 items × 4 calls × $0.01
    with pytest.raises(AppError, match="invalid job settings"):
        client.predict(**SMALL, spec_json='{"attempts": 99}', api_name="/generate_estimate")


def test_start_a_small_local_job_and_poll_it_to_done(client, workspace):
    message, job_id = client.predict(**SMALL, api_name="/generate_start")
    job_id = int(job_id)
    assert f"job **{job_id}**" in message
    row = _wait_for(client, job_id, ("done", "failed", "interrupted"))
    assert row["status"] == "done" and row["progress"].startswith("2 / 2") and row["by"] == "alice"
    with Store.open(workspace) as store:
        job = jobs.get_job(store, job_id)
        assert (job.status, job.total, job.spec.attempts, job.created_by) == ("done", 2, 1, "alice")
        assert store.scalar("SELECT COUNT(*) FROM attempts WHERE key LIKE ?", (f"job{job_id}:%",)) == 2
    failures = client.predict(job_id=job_id, api_name="/job_failures")
    assert failures["headers"][:3] == ["status", "reason", "count"]
    with pytest.raises(AppError, match="done; nothing to resume"):
        client.predict(job_id=job_id, api_name="/job_resume")


def test_cancel_then_resume_through_the_api(client, workspace):
    slow = {"source_ids": "1, 2", "types": ["color-tone", "film-grain", "zoom-in"], "attempts": 1,
            "writer": "fake", "rewriter": "fake", "editor": "fake", "judge": "fake", "concurrency": 1,
            "options_json": '{"all": {"latency_s": 0.3}}'}
    _, job_id = client.predict(**slow, api_name="/generate_start")
    job_id = int(job_id)
    _wait_for(client, job_id, ("running",), timeout=60)
    assert "cancelled" in client.predict(job_id=job_id, api_name="/job_cancel")
    row = _wait_for(client, job_id, ("cancelled",), timeout=60)
    assert not row["progress"].startswith("6 / 6")
    assert "resuming" in client.predict(job_id=job_id, api_name="/job_resume")
    _wait_for(client, job_id, ("done",), timeout=120)
    with Store.open(workspace) as store:
        keys = [r[0] for r in store.query("SELECT key FROM attempts WHERE key LIKE ?", (f"job{job_id}:%",))]
    assert len(keys) == len(set(keys)) == 6


def test_uploads_report_bad_files_by_name_and_add_the_rest(client, tmp_path):
    from picobanana.demo import DEMO_PHOTOS, demo_photo_png

    good = tmp_path / "harbour.png"
    good.write_bytes(demo_photo_png(DEMO_PHOTOS[2]))
    bad = tmp_path / "notes.txt"
    bad.write_text("not a photo")
    report, ids = client.predict(files=[handle_file(str(good)), handle_file(str(bad))], license="CC0",
                                 current="1", api_name="/sources_upload")
    assert "1 added" in report and "notes.txt: not an image" in report
    assert ids.startswith("1, ") and len(ids.split(",")) == 2
    found = client.predict(text=ids.split(", ")[1], api_name="/sources_search")
    assert [row[0] for row in found["data"]] == [int(ids.split(", ")[1])]
