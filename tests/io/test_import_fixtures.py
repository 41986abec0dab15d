"""The shared release fixtures import with exact counts, values, attempt numbers, chains and provenance."""

from __future__ import annotations

import json

import pytest

from picobanana.io.importer import import_file
from picobanana.io.pico_format import attempt_number, normalise_ref
from picobanana.store.verdicts import attempt_verdict
from picobanana.taxonomy import edit_type_by_name


def _records(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def imported(store, pico_fixtures):
    reports = {name: import_file(store, pico_fixtures / f"{name}-sample.jsonl")
               for name in ("sft", "preference", "multi-turn")}
    return store, reports


def test_counts_per_kind(imported):
    store, reports = imported
    assert reports["sft"].kinds["sft"].model_dump() == {"imported": 23, "duplicates": 0, "rejected": 0,
                                                         "aliased": 0}
    assert reports["preference"].kinds["preference"].imported == 3
    assert reports["multi-turn"].kinds["multi-turn"].imported == 1
    assert all(r.status == "imported" and r.ok and r.rejected == 0 for r in reports.values())
    # 23 sft + 3 preference edits + 5 turn edits; 23 + 3 chosen + 5 rejected + 5 turn attempts.
    assert store.scalar("SELECT COUNT(*) FROM edits") == 31
    assert store.scalar("SELECT COUNT(*) FROM attempts") == 36
    assert store.scalar("SELECT COUNT(*) FROM chains") == 1
    counted = dict(store.query("SELECT status, COUNT(*) FROM attempts GROUP BY status"))
    assert counted == {"ok": 31, "rejected": 5}
    files = store.query("SELECT kind, status, lines_done, imported, size, bytes_done FROM import_files "
                        "ORDER BY id")
    assert [(f["kind"], f["status"], f["lines_done"], f["imported"]) for f in files] == [
        ("sft", "done", 23, 23), ("preference", "done", 3, 3), ("multi-turn", "done", 1, 1)]
    assert all(f["bytes_done"] == f["size"] for f in files)


def test_sft_values_round_trip(imported, pico_fixtures):
    store, _ = imported
    for line_no, record in enumerate(_records(pico_fixtures / "sft-sample.jsonl"), 1):
        key = "release:" + record["output_image"]
        row = store.query(
            "SELECT a.*, e.key AS edit_key, e.turn AS edit_turn, e.edit_type_id AS e_type, "
            "e.category_id AS e_cat, e.parent_attempt_id, e.chain_id, s.uri, s.origin AS source_origin "
            "FROM attempts a JOIN edits e ON e.id = a.edit_id JOIN sources s ON s.id = e.source_id "
            "WHERE a.key = ?", (key,))[0]
        edit_type = edit_type_by_name[record["edit_type"]]
        assert row["edit_key"] == key
        assert row["uri"] == record["open_image_input_url"] and row["source_origin"] == "release"
        assert row["instruction"] == record["text"]
        assert row["short_instruction"] == record["summarized_text"]
        assert row["output_ref"] == record["output_image"]
        assert (row["edit_type_id"], row["category_id"]) == (edit_type.id, edit_type.category.id)
        assert (row["e_type"], row["e_cat"]) == (edit_type.id, edit_type.category.id)
        assert row["attempt_no"] == attempt_number(record["output_image"])
        assert (row["status"], row["origin"], row["turn"], row["edit_turn"]) == ("ok", "release", 1, 1)
        assert row["parent_attempt_id"] is None and row["chain_id"] is None
        assert row["output_sha256"] is None and row["failure_reason"] is None
        assert (row["import_file_id"], row["import_line"]) == (1, line_no)


def test_retry_names_give_attempt_numbers(imported):
    store, _ = imported
    numbers = dict(store.query("SELECT output_ref, attempt_no FROM attempts WHERE output_ref LIKE '%kf3%'"))
    assert numbers["images/positive-edit/kf3o5u_retry1.png"] == 2
    assert numbers["images/positive-edit/kf3mzc_retry2.png"] == 3


def test_preference_rejected_attempts(imported, pico_fixtures):
    store, _ = imported
    for line_no, record in enumerate(_records(pico_fixtures / "preference-sample.jsonl"), 1):
        edit_id = store.scalar("SELECT id FROM edits WHERE key = ?", ("release:" + record["output_image"],))
        attempts = store.query("SELECT * FROM attempts WHERE edit_id = ? ORDER BY attempt_no", (edit_id,))
        rejected = [normalise_ref(r) for r in record["rejected_images"]]
        assert [a["output_ref"] for a in attempts] == rejected + [record["output_image"]]
        assert [a["status"] for a in attempts] == ["rejected"] * len(rejected) + ["ok"]
        assert [a["attempt_no"] for a in attempts] == list(range(1, len(rejected) + 2))
        assert all(a["failure_reason"] == "rejected by the release judge" for a in attempts[:-1])
        assert all(a["instruction"] == record["text"] and a["short_instruction"] == record["summarized_text"]
                   for a in attempts)
        assert all((a["import_file_id"], a["import_line"]) == (2, line_no) for a in attempts)
    # The prefix quirk is gone from every stored path.
    assert store.scalar("SELECT COUNT(*) FROM attempts WHERE output_ref LIKE 'nano-banana-300k/%'") == 0
    # U+2013 in the edit type of line 3 resolves exactly (not as an alias).
    funko = store.scalar("SELECT edit_type_id FROM attempts WHERE output_ref LIKE '%kf9x3r_retry2.png'")
    assert funko == edit_type_by_name["Funko-Pop\u2013style toy figure of the person"].id


def test_multi_turn_chain_and_parent_links(imported, pico_fixtures):
    store, _ = imported
    record = _records(pico_fixtures / "multi-turn-sample.jsonl")[0]
    urls = {f["id"]: f["url"] for f in record["files"]}
    chain = store.query("SELECT c.*, s.uri FROM chains c JOIN sources s ON s.id = c.source_id")[0]
    assert chain["key"] == "release-mt:" + urls["final_image"]
    assert (chain["n_turns"], chain["uri"], chain["origin"]) == (5, urls["original_input_image"], "release")
    assert (chain["import_file_id"], chain["import_line"]) == (3, 1)
    turns = store.query(
        "SELECT e.key, e.turn, e.parent_attempt_id, e.edit_type_id, e.category_id, e.source_id, "
        "a.id AS attempt_id, a.key AS attempt_key, a.attempt_no, a.status, a.instruction, "
        "a.short_instruction, a.output_ref, a.turn AS attempt_turn "
        "FROM edits e JOIN attempts a ON a.edit_id = e.id WHERE e.chain_id = ? ORDER BY e.turn",
        (chain["id"],))
    expected_images = [urls[f"edit_turn{k}"] for k in range(1, 5)] + [urls["final_image"]]
    assert [t["turn"] for t in turns] == [1, 2, 3, 4, 5]
    assert [t["key"] for t in turns] == [f"{chain['key']}#{k}" for k in range(1, 6)]
    assert [t["output_ref"] for t in turns] == expected_images
    assert [t["attempt_key"] for t in turns] == ["release:" + u for u in expected_images]
    assert [t["short_instruction"] for t in turns] == record["metadata_edit_turn_prompts"]
    assert [t["parent_attempt_id"] for t in turns] == [None] + [t["attempt_id"] for t in turns[:-1]]
    assert all(t["instruction"] is None and t["edit_type_id"] is None and t["category_id"] is None
               for t in turns)
    assert all((t["attempt_no"], t["status"], t["attempt_turn"]) == (1, "ok", t["turn"]) for t in turns)
    assert {t["source_id"] for t in turns} == {chain["source_id"]}


def test_imported_records_are_kept_by_the_release(imported):
    store, _ = imported
    kept = store.scalar("SELECT id FROM attempts WHERE output_ref = 'images/positive-edit/1.png'")
    rejected = store.scalar("SELECT id FROM attempts WHERE output_ref = 'images/rejected-edit/14.png'")
    kept_verdict, rejected_verdict = attempt_verdict(store, kept), attempt_verdict(store, rejected)
    assert (kept_verdict.verdict, kept_verdict.source) == ("keep", "release")
    assert (rejected_verdict.verdict, rejected_verdict.source) == ("fail", "release")
    assert store.scalar("SELECT COUNT(*) FROM judgments") == 0


def test_no_dangling_references(imported):
    store, _ = imported
    assert store.query("PRAGMA foreign_key_check") == []


def test_sft_and_preference_lines_for_the_same_output_share_one_edit(store, pico_fixtures, tmp_path):
    """A preference record whose chosen image is also an sft line adds its rejected attempts to that edit, and
    renumbers the chosen attempt after them when its name promised fewer retries than it has rejections."""
    preference = _records(pico_fixtures / "preference-sample.jsonl")[1]  # kf7d0m_retry2, 2 rejected
    sft = {k: preference[k] for k in ("open_image_input_url", "text", "edit_type", "summarized_text")}
    sft["output_image"] = preference["output_image"]
    (tmp_path / "sft.jsonl").write_text(json.dumps(sft) + "\n")
    # This one says "2nd try" but has 2 rejected attempts.
    squeezed = dict(preference, output_image="images/positive-edit/kq1_retry1.png")
    (tmp_path / "sft2.jsonl").write_text(json.dumps({**sft, "output_image": squeezed["output_image"]}) + "\n")
    squeezed["rejected_images"] = ["images/rejected-edit/90.png", "images/rejected-edit/91.png"]
    (tmp_path / "pref.jsonl").write_text(json.dumps(preference) + "\n" + json.dumps(squeezed) + "\n")

    import_file(store, tmp_path / "sft.jsonl")
    import_file(store, tmp_path / "sft2.jsonl")
    report = import_file(store, tmp_path / "pref.jsonl")

    assert report.kinds["preference"].imported == 2  # both added rejected attempts
    assert store.scalar("SELECT COUNT(*) FROM edits") == 2
    for output, rejected in ((preference["output_image"], 2), (squeezed["output_image"], 2)):
        rows = store.query("SELECT a.attempt_no, a.status FROM attempts a JOIN edits e ON e.id = a.edit_id "
                           "WHERE e.key = ? ORDER BY a.attempt_no", ("release:" + output,))
        assert [(r["attempt_no"], r["status"]) for r in rows] == (
            [(i, "rejected") for i in range(1, rejected + 1)] + [(rejected + 1, "ok")])
