"""Sources for a job: search existing ones, add uploads (refusals by name) and a server folder."""

from __future__ import annotations

import pytest
from pipeline.pipeline_helpers import add_sources, png

from picobanana.curation.job_sources import add_folder, add_uploads, find_sources
from picobanana.errors import ConfigError
from picobanana.store import Store
from picobanana.store.writes import NewSource, ensure_sources


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "ws") as opened:
        yield opened


def test_search_by_id_or_uri_part_keyset_paged(store):
    ids = add_sources(store, 5)  # file:///photos/<i>.png
    assert [r.id for r in find_sources(store, "")] == ids
    assert [r.id for r in find_sources(store, str(ids[2]))] == [ids[2]]
    assert [r.uri for r in find_sources(store, "PHOTOS/3")] == ["file:///photos/3.png"]
    first = find_sources(store, "photos", limit=2)
    second = find_sources(store, "photos", limit=2, after_id=first[-1].id)
    assert [r.id for r in first + second] == ids[:4]


def test_uploads_go_on_past_bad_files_and_name_them(store):
    report = add_uploads(store, [("good.png", png(1)), ("notes.txt", b"hello"), ("empty.jpg", b""),
                                 ("again.png", png(1)), ("other.png", png(2, size=64))], license="CC-BY-4.0")
    assert (report.accepted, report.already) == (2, 1)
    assert [(r.path, r.kind) for r in report.rejected] == [("notes.txt", "not an image"), ("empty.jpg", "empty file")]
    assert len(report.source_ids) == 3 and report.source_ids[0] == report.source_ids[1]
    assert store.scalar("SELECT license FROM sources WHERE id = ?", (report.source_ids[0],)) == "CC-BY-4.0"


def test_a_folder_is_ingested_and_a_missing_one_refused(store, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.png").write_bytes(png(3))
    (folder / "broken.png").write_bytes(b"\x89PNG nope")
    report = add_folder(store, folder)
    assert report.accepted == 1 and [r.path.endswith("broken.png") for r in report.rejected] == [True]
    with pytest.raises(ConfigError, match="not a folder"):
        add_folder(store, tmp_path / "missing")


def test_search_text_is_literal(store):
    with store.transaction() as rev:
        ids = ensure_sources(store, [NewSource(uri=u, origin="ingest", image_sha256=store.images.put_bytes(
            png(i + 7), thumbnail=False).sha256) for i, u in enumerate(["file:///a/100%_x.png", "file:///a/1000x.png"])],
            rev)
    assert [r.uri for r in find_sources(store, "100%_")] == ["file:///a/100%_x.png"]
    assert [r.id for r in find_sources(store, "A/100")] == sorted(ids.values())
