"""Bad lines are rejected one by one, with their line number and reason; everything else is imported."""

from __future__ import annotations

import json

import pytest

from picobanana.errors import InputError
from picobanana.io.importer import import_file
from picobanana.taxonomy import edit_type_by_name

SFT = {"open_image_input_url": "https://farm1.staticflickr.com/1/1_a_o.jpg",
       "text": "Add a red kite to the sky.",
       "output_image": "images/positive-edit/1.png", "edit_type": "Add a new object to the scene",
       "summarized_text": "Add a kite."}


def sft(i: int, **changes) -> str:
    return json.dumps({**SFT, "output_image": f"images/positive-edit/{i}.png",
                       "open_image_input_url": f"https://farm1.staticflickr.com/1/{i}_a_o.jpg", **changes})


def write(tmp_path, lines: list[str | bytes], name: str = "in.jsonl"):
    path = tmp_path / name
    path.write_bytes(b"".join((x if isinstance(x, bytes) else x.encode()) + b"\n" for x in lines))
    return path


def rejected(store, report) -> dict[int, str]:
    return dict(store.query("SELECT line_no, reason FROM import_errors WHERE import_file_id = ?",
                            (report.import_file_id,)))


def test_every_bad_line_class_with_its_line_number(store, tmp_path):
    lines: list[str | bytes] = [
        sft(1),                                                    # 1 ok
        "{not json",                                               # 2 invalid JSON
        b'{"text": "caf\xe9"}',                                    # 3 not UTF-8 (latin-1 byte)
        "[1, 2, 3]",                                               # 4 not an object
        "42",                                                      # 5 not an object
        json.dumps({k: v for k, v in SFT.items() if k != "text"}),  # 6 missing key
        sft(7, edit_type=17),                                      # 7 wrong type
        sft(8, edit_type="Make it look like a watercolour painting"),  # 8 unknown edit type
        sft(9, edit_type="Zoom inn"),                              # 9 unknown, close to "Zoom in"
        "",                                                        # 10 blank: skipped, not rejected
        "   \t ",                                                  # 11 blank
        sft(12, output_image=""),                                  # 12 empty path
        json.dumps({"output_image": "images/positive-edit/13.png",                    # 13 not a list
                    "rejected_images": "images/rejected-edit/1.png", "text": "t", "edit_type": "Zoom in",
                    "open_image_input_url": "u", "summarized_text": "s"}),
        json.dumps({"files": [{"id": "final_image", "url": "images/multi-turn/1_turn1.png"}]}),  # 14 half
        sft(15),                                                   # 15 ok
    ]
    report = import_file(store, write(tmp_path, lines))
    reasons = rejected(store, report)

    assert sorted(reasons) == [2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 14]
    assert reasons[2].startswith("invalid JSON")
    assert reasons[3] == "not valid UTF-8: byte 0xe9 at column 14"
    assert reasons[4] == "expected a JSON object, got array"
    assert reasons[5] == "expected a JSON object, got number"
    assert reasons[6] == "missing key 'text'"
    assert reasons[7] == "'edit_type' must be a string, not number"
    assert reasons[8].startswith("unknown edit_type 'Make it look like a watercolour painting'; not one of the 35 released edit types")
    assert reasons[9] == "unknown edit_type 'Zoom inn'; did you mean 'Zoom in'?"
    assert reasons[12] == "output_image is empty"
    assert reasons[13] == "'rejected_images' must be a list, not string"
    assert reasons[14] == "missing key 'metadata_edit_turn_prompts'"

    assert report.lines == 15 and report.blank == 2
    assert report.kinds["sft"].imported == 2
    assert report.kinds["sft"].rejected == 5  # lines 6, 7, 8, 9, 12
    assert report.kinds["preference"].rejected == 1
    assert report.kinds["multi-turn"].rejected == 1
    assert report.unparsed == 4  # lines 2, 3, 4, 5: no record kind at all
    assert report.rejected == 11 and not report.ok
    assert [e.line_no for e in report.errors] == sorted(reasons)
    assert [r[0] for r in store.query("SELECT import_line FROM attempts ORDER BY id")] == [1, 15]
    assert store.scalar("SELECT rejected FROM import_files WHERE id = ?", (report.import_file_id,)) == 11


@pytest.mark.parametrize("bad, reason", [
    ({"rejected_images": []},
     ("'rejected_images': rejected_images is empty: a preference record needs at least one rejected edit")),
    ({"rejected_images": ["images/rejected-edit/1.png", "nano-banana-300k/images/rejected-edit/1.png"]},
     "rejected_images lists the same image twice"),
    ({"rejected_images": ["images/positive-edit/5.png"]}, "rejected_images contains the output_image"),
    ({"rejected_images": ["images/rejected-edit/1.png", 3]},
     "'rejected_images.1' must be a string, not number"),
])
def test_bad_preference_records(store, tmp_path, bad, reason):
    record = {"output_image": "images/positive-edit/5.png", "rejected_images": ["images/rejected-edit/1.png"],
              "text": "t", "edit_type": "Zoom in", "open_image_input_url": "https://x/1.jpg",
              "summarized_text": "s"}
    report = import_file(store, write(tmp_path, [sft(1), json.dumps({**record, **bad})]))
    assert rejected(store, report) == {2: reason}
    assert report.kinds["preference"].rejected == 1 and report.kinds["sft"].imported == 1


def _chain(n: int, **changes) -> dict:
    files = [{"id": f"edit_turn{k}", "url": f"images/multi-turn/7_attemptA_turn{k}.png"} for k in range(1, n)]
    files += [{"id": "final_image", "url": f"images/multi-turn/7_attemptA_turn{n}.png"},
              {"id": "original_input_image", "url": "https://farm1.staticflickr.com/1/7_a_o.jpg"}]
    return {"files": files, "metadata_edit_turn_prompts": [f"step {k}" for k in range(1, n + 1)], **changes}


@pytest.mark.parametrize("record, reason", [
    (_chain(3, metadata_edit_turn_prompts=["a", "b"]),
     "files do not match 2 turns (missing [], unexpected ['edit_turn2'])"),
    (_chain(2, files=[{"id": "final_image", "url": "x.png"}]),
     "files do not match 2 turns (missing ['edit_turn1', 'original_input_image'], unexpected [])"),
    (_chain(2, files=[{"id": "edit_turn1", "url": "a.png"}, {"id": "final_image", "url": "a.png"},
                      {"id": "original_input_image", "url": "https://x/1.jpg"}]),
     "files lists the same image for two turns"),
    (_chain(11), "11 turns; at most 10 are supported"),
    (_chain(2, files="nope"), "'files' must be a list, not string"),
    (_chain(2, metadata_edit_turn_prompts=[]), "metadata_edit_turn_prompts is empty"),
])
def test_bad_multi_turn_records(store, tmp_path, record, reason):
    report = import_file(store, write(tmp_path, [json.dumps(_chain(2)), json.dumps(record)]))
    assert rejected(store, report) == {2: reason}
    assert report.kinds["multi-turn"].imported == 1 and report.kinds["multi-turn"].rejected == 1
    assert store.scalar("SELECT COUNT(*) FROM chains") == 1


def test_aliases_are_normalised_and_counted(store, tmp_path):
    lines = [sft(1, edit_type="Change age/gender"), sft(2, edit_type="Change age/gender"),
             sft(3, edit_type="Photo \u2192 cartoon/sketch/comic"), sft(4, edit_type="Zoom in")]
    report = import_file(store, write(tmp_path, lines))
    assert report.rejected == 0 and report.kinds["sft"].imported == 4
    assert report.kinds["sft"].aliased == 3 and report.aliased == 3
    assert report.aliases == {"Change age/gender": 2, "Photo \u2192 cartoon/sketch/comic": 1}
    stored = [r[0] for r in store.query("SELECT edit_type_id FROM attempts ORDER BY import_line")]
    assert stored == [edit_type_by_name["Change age / gender"].id] * 2 + [
        edit_type_by_name["Photo to cartoon/sketch/comic"].id, edit_type_by_name["Zoom in"].id]
    assert store.scalar("SELECT aliased FROM import_files") == 3


def test_kind_option_rejects_other_kinds(store, tmp_path, pico_fixtures):
    lines = [sft(1), (pico_fixtures / "preference-sample.jsonl").read_text().splitlines()[0], sft(3),
             (pico_fixtures / "multi-turn-sample.jsonl").read_text().splitlines()[0]]
    report = import_file(store, write(tmp_path, lines), kind="sft")
    assert rejected(store, report) == {2: "preference record, but --kind sft was given",
                                       4: "multi-turn record, but --kind sft was given"}
    assert report.kinds["sft"].imported == 2
    assert report.kinds["preference"].rejected == 1 and report.kinds["multi-turn"].rejected == 1


def test_a_whole_file_of_the_wrong_kind(store, pico_fixtures):
    report = import_file(store, pico_fixtures / "sft-sample.jsonl", kind="multi-turn")
    assert report.rejected == 23 and report.imported == 0 and not report.ok
    assert store.scalar("SELECT COUNT(*) FROM attempts") == 0


def test_empty_files(store, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    report = import_file(store, empty)
    assert report.status == "empty" and not report.ok and report.lines == 0
    blank = write(tmp_path, ["", "  ", ""], "blank.jsonl")
    report = import_file(store, blank)
    assert report.status == "empty" and not report.ok and report.blank == 3 and report.rejected == 0


def test_missing_file_is_an_input_error(store, tmp_path):
    with pytest.raises(InputError, match="no such file"):
        import_file(store, tmp_path / "nope.jsonl")


def test_bom_crlf_and_missing_final_newline_are_fine(store, tmp_path):
    path = tmp_path / "windows.jsonl"
    bom = b"\xef\xbb\xbf"
    path.write_bytes(bom + sft(1).encode() + b"\r\n" + sft(2).encode() + b"\r\n" + sft(3).encode())
    report = import_file(store, path)
    assert report.rejected == 0 and report.kinds["sft"].imported == 3 and report.lines == 3


def test_extra_keys_are_ignored_and_null_local_image_is_fine(store, tmp_path):
    report = import_file(store, write(tmp_path, [sft(1, analysis={"x": 1}, local_input_image=None)]))
    assert report.rejected == 0 and report.imported == 1


def test_an_absurdly_long_line_is_rejected_without_reading_it_whole(store, tmp_path, monkeypatch):
    from picobanana.io import line_batches

    monkeypatch.setattr(line_batches, "MAX_LINE_BYTES", 1024)
    path = write(tmp_path, [sft(1), sft(2, text="x" * 5000), sft(3)])
    report = import_file(store, path)
    assert rejected(store, report) == {2: "line longer than 1,024 bytes"}
    assert report.kinds["sft"].imported == 2 and report.lines == 3
    assert [r[0] for r in store.query("SELECT import_line FROM attempts ORDER BY id")] == [1, 3]
