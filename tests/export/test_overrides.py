"""Human decisions decide membership; policies decide only what no human has decided."""

from __future__ import annotations

from picobanana.io.export import export_dataset
from picobanana.io.pico_format import attempt_number
from picobanana.store import Policy, record_review, save_policy

GOOD = (0.9, 0.9, 0.9, 0.9)
BORDERLINE = (0.65, 0.65, 0.65, 0.65)
BAD = (0.3, 0.3, 0.3, 0.3)


def _attempt_id(store, key: str) -> int:
    return store.scalar("SELECT id FROM attempts WHERE key = ?", (key,))


def _sft_outputs(tmp_path, name: str, read_jsonl) -> list[str]:
    path = tmp_path / name / "jsonl/train/sft.jsonl"
    return [r["output_image"] for r in read_jsonl(path)] if path.exists() else []


def test_curator_fail_removes_a_release_attempt(release_store, tmp_path, read_jsonl):
    first = export_dataset(release_store, tmp_path / "before", formats=["jsonl"], validation_fraction=0)
    record_review(release_store, _attempt_id(release_store, "release:images/positive-edit/1.png"), "fail",
                  curator="ana", reason="flag pole still visible")
    second = export_dataset(release_store, tmp_path / "after", formats=["jsonl"], validation_fraction=0)

    assert "images/positive-edit/1.png" in _sft_outputs(tmp_path, "before", read_jsonl)
    assert "images/positive-edit/1.png" not in _sft_outputs(tmp_path, "after", read_jsonl)
    assert second.total("sft") == first.total("sft") - 1
    assert second.human_decisions.model_dump() == {"total": 1, "keep": 0, "fail": 1, "overrides": 1}


def test_curator_keep_adds_a_judged_fail(store, make_edit, tmp_path, read_jsonl):
    edit_id, (attempt,) = make_edit(store, "file:///photos/a.jpg", [("ok", BAD, 1)])
    export_dataset(store, tmp_path / "before", formats=["jsonl"], validation_fraction=0)
    record_review(store, attempt, "keep", curator="ana")
    report = export_dataset(store, tmp_path / "after", formats=["jsonl"], validation_fraction=0)

    assert _sft_outputs(tmp_path, "before", read_jsonl) == []
    (row,) = read_jsonl(tmp_path / "after/jsonl/train/sft.jsonl")
    assert row == {"open_image_input_url": "file:///photos/a.jpg", "text": "Remove the red car",
                   "output_image": f"images/positive-edit/pb{edit_id}.png",
                   "edit_type": "Remove an existing object", "summarized_text": "remove the car"}
    assert report.human_decisions.overrides == 1


def test_policy_change_moves_judged_attempts_but_never_human_decisions(store, make_edit, tmp_path,
                                                                       read_jsonl):
    border, _ = make_edit(store, "file:///b.jpg", [("ok", BORDERLINE, 1)])
    _, (hf,) = make_edit(store, "file:///f.jpg", [("ok", GOOD, 2)])
    human_keep, (hk,) = make_edit(store, "file:///k.jpg", [("ok", BAD, 3)])
    record_review(store, hf, "fail", curator="ana")
    record_review(store, hk, "keep", curator="ana")
    save_policy(store, Policy(name="lenient", threshold=0.6), created_by="ana")
    save_policy(store, Policy(name="strict", threshold=0.99), created_by="ana")

    def exported(name: str, policy: str | None) -> set[int]:
        export_dataset(store, tmp_path / name, formats=["jsonl"], validation_fraction=0, policy=policy)
        return {int(p.split("/pb")[1].split(".")[0]) for p in _sft_outputs(tmp_path, name, read_jsonl)}

    assert exported("paper", None) == {human_keep}
    assert exported("lenient", "lenient") == {border, human_keep}
    assert exported("strict", "strict@1") == {human_keep}
    report = export_dataset(store, tmp_path / "again", formats=["jsonl"], policy="lenient",
                            validation_fraction=0)
    assert report.policy.ref == "lenient@1" and report.policy.threshold == 0.6


def test_preference_pairs_follow_verdicts(store, make_edit, tmp_path, read_jsonl):
    edit_id, (first, _) = make_edit(store, "file:///p.jpg", [("ok", BAD, 4), ("ok", GOOD, 5)])
    export_dataset(store, tmp_path / "before", formats=["jsonl"], validation_fraction=0)
    (pair,) = read_jsonl(tmp_path / "before/jsonl/train/preference.jsonl")
    assert pair["output_image"] == f"images/positive-edit/pb{edit_id}_retry1.png"
    assert attempt_number(pair["output_image"]) == 2
    assert pair["rejected_images"] == [f"images/rejected-edit/pb{first}.png"]

    # The curator keeps the first attempt: it becomes the chosen one and nothing failed before it.
    record_review(store, first, "keep", curator="ana")
    export_dataset(store, tmp_path / "after", formats=["jsonl"], validation_fraction=0)
    assert not (tmp_path / "after/jsonl/train/preference.jsonl").exists()
    assert sorted(_sft_outputs(tmp_path, "after", read_jsonl)) == [
        f"images/positive-edit/pb{edit_id}.png", f"images/positive-edit/pb{edit_id}_retry1.png"]


def test_pending_and_imageless_attempts_are_neither_side(store, make_edit, tmp_path, read_jsonl):
    edit_id, (_blocked, _unjudged, failed, _kept) = make_edit(
        store, "file:///q.jpg", [("blocked", None, None), ("ok", None, 6), ("ok", BAD, 7), ("ok", GOOD, 8)])
    export_dataset(store, tmp_path / "out", formats=["jsonl"], validation_fraction=0)
    (pair,) = read_jsonl(tmp_path / "out/jsonl/train/preference.jsonl")
    assert pair["output_image"] == f"images/positive-edit/pb{edit_id}_retry3.png"
    assert pair["rejected_images"] == [f"images/rejected-edit/pb{failed}.png"]


def test_curator_keep_on_a_release_rejected_image_moves_the_pair(release_store, tmp_path, read_jsonl):
    record_review(release_store, _attempt_id(release_store, "release:images/rejected-edit/20519.png"), "keep",
                  curator="ana")
    export_dataset(release_store, tmp_path / "out", formats=["jsonl"], validation_fraction=0)
    pairs = {p["text"][:20]: p for p in read_jsonl(tmp_path / "out/jsonl/train/preference.jsonl")}
    pair = pairs["Change the text on t"]
    assert pair["output_image"] == "images/rejected-edit/20519.png"
    assert pair["rejected_images"] == ["images/rejected-edit/20518.png"]
    assert "images/rejected-edit/20519.png" in _sft_outputs(tmp_path, "out", read_jsonl)


def test_a_failed_turn_drops_the_chain(release_store, tmp_path):
    turn3 = _attempt_id(release_store, "release:images/multi-turn/101_attemptB_turn3.png")
    record_review(release_store, turn3, "fail", curator="ana")
    report = export_dataset(release_store, tmp_path / "out", formats=["jsonl"], validation_fraction=0)
    assert report.counts["multi-turn"] == {}
    assert not (tmp_path / "out/jsonl/train/multi-turn.jsonl").exists()
