"""The import commands as a user runs them: output, exit codes, listings."""

from __future__ import annotations

import csv
import io
import json

from click.testing import CliRunner
from PIL import Image

from picobanana.cli.main import cli


def run(workspace, *args):
    return CliRunner().invoke(cli, ["-w", str(workspace), *args], catch_exceptions=False)


def test_import_fixtures_exit_0_with_a_summary(tmp_path, pico_fixtures):
    files = [str(pico_fixtures / f"{k}-sample.jsonl") for k in ("sft", "preference", "multi-turn")]
    result = run(tmp_path / "ws", "import", *files)
    assert result.exit_code == 0, result.output
    for kind, n in (("sft", 23), ("preference", 3), ("multi-turn", 1)):
        assert any(kind in line and f" {n} " in line for line in result.output.splitlines()), result.output

    again = run(tmp_path / "ws", "import", files[0])
    assert again.exit_code == 0
    assert "already imported (import #1)" in again.output


def test_rejected_lines_exit_1_and_are_listed(tmp_path, pico_fixtures):
    lines = (pico_fixtures / "sft-sample.jsonl").read_text().splitlines()
    lines[4] = "{broken"
    lines[9] = json.dumps({**json.loads(lines[9]), "edit_type": "Zoom inn"})
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")

    result = run(tmp_path / "ws", "import", str(path), "--errors", "1")

    assert result.exit_code == 1
    assert "2 rejected lines" in result.output
    assert "bad.jsonl:5: invalid JSON" in result.output
    assert "bad.jsonl:10" not in result.output  # --errors 1
    assert "picobanana import-errors 1" in result.output

    listing = run(tmp_path / "ws", "import-errors", "1")
    assert listing.exit_code == 0
    first, second = listing.output.splitlines()
    assert first.startswith(f"{path}:5: invalid JSON: ")
    assert second == f"{path}:10: unknown edit_type 'Zoom inn'; did you mean 'Zoom in'?"
    by_file = run(tmp_path / "ws", "import-errors", str(path), "--limit", "1")
    assert len(by_file.output.splitlines()) == 1


def test_errors_option_lists_more_than_twenty(tmp_path):
    path = tmp_path / "junk.jsonl"
    path.write_text("".join(f"junk {i}\n" for i in range(1, 31)))
    result = CliRunner(env={"COLUMNS": "200"}).invoke(cli, ["-w", str(tmp_path / "ws"), "import", str(path),
                                                            "--errors", "25"])
    assert result.exit_code == 1
    listed = [line for line in result.output.splitlines() if line.startswith("  junk.jsonl:")]
    assert [int(line.split(":")[1]) for line in listed] == list(range(1, 26))
    assert "all of them: picobanana import-errors 1" in result.output


def test_empty_file_exits_1(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    result = run(tmp_path / "ws", "import", str(tmp_path / "empty.jsonl"))
    assert result.exit_code == 1
    assert "no records" in result.output


def test_json_output(tmp_path, pico_fixtures):
    result = run(tmp_path / "ws", "import", "--json", str(pico_fixtures / "preference-sample.jsonl"))
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["openimages"] is None
    [report] = data["files"]
    assert report["kinds"]["preference"]["imported"] == 3 and report["imported"] == 3
    assert report["rejected"] == 0 and report["status"] == "imported"


def test_kind_option(tmp_path, pico_fixtures):
    result = run(tmp_path / "ws", "import", "--kind", "preference", str(pico_fixtures / "sft-sample.jsonl"))
    assert result.exit_code == 1
    assert "sft-sample.jsonl:1: sft record, but --kind preference was given" in result.output


def test_openimages_options_go_together(tmp_path, pico_fixtures):
    sft = str(pico_fixtures / "sft-sample.jsonl")
    result = CliRunner().invoke(cli, ["-w", str(tmp_path / "ws"), "import", "--openimages-csv", sft, sft])
    assert result.exit_code == 2
    assert "--openimages-csv and --openimages-dir go together" in result.output


def test_import_with_images_and_openimages(tmp_path, pico_fixtures):
    first = json.loads((pico_fixtures / "sft-sample.jsonl").read_text().splitlines()[0])
    root = tmp_path / "release"
    (root / "images/positive-edit").mkdir(parents=True)
    Image.new("RGB", (8, 8), "red").save(root / "images/positive-edit/1.png")
    (tmp_path / "oi/train_0").mkdir(parents=True)
    Image.new("RGB", (8, 8), "blue").save(tmp_path / "oi/train_0/00ff.jpg")
    with open(tmp_path / "oi.csv", "w", newline="") as out:
        csv.writer(out).writerows([["ImageID", "OriginalURL"], ["00ff", first["open_image_input_url"]]])

    result = run(tmp_path / "ws", "import", str(pico_fixtures / "sft-sample.jsonl"),
                 "--images-root", str(root), "--openimages-csv", str(tmp_path / "oi.csv"),
                 "--openimages-dir", str(tmp_path / "oi"))

    assert result.exit_code == 0, result.output
    assert "images: 1 attached, 22 missing" in result.output
    assert "Open Images: 23 sources without an image; 1 matched, 22 not in the CSV, 0 file missing" in \
        " ".join(result.output.split())


def test_standalone_attach_and_map_commands(tmp_path, pico_fixtures):
    run(tmp_path / "ws", "import", str(pico_fixtures / "multi-turn-sample.jsonl"))
    root = tmp_path / "release"
    (root / "images/multi-turn").mkdir(parents=True)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(buffer, "PNG")
    (root / "images/multi-turn/101_attemptB_turn1.png").write_bytes(buffer.getvalue())

    attached = run(tmp_path / "ws", "attach-images", "--images-root", str(root))
    assert attached.exit_code == 0
    assert "images: 1 attached, 4 missing" in attached.output

    (tmp_path / "oi").mkdir()
    with open(tmp_path / "oi.csv", "w", newline="") as out:
        csv.writer(out).writerows([["ImageID", "OriginalURL"]])
    mapped = run(tmp_path / "ws", "map-openimages", "--csv", str(tmp_path / "oi.csv"),
                 "--dir", str(tmp_path / "oi"))
    assert mapped.exit_code == 0
    assert "1 sources without an image; 0 matched, 1 not in the CSV" in " ".join(mapped.output.split())


def test_imports_listing(tmp_path, pico_fixtures):
    run(tmp_path / "ws", "import", str(pico_fixtures / "sft-sample.jsonl"))
    result = run(tmp_path / "ws", "imports", "--json")
    assert result.exit_code == 0
    [entry] = json.loads(result.output)
    assert entry["path"] == str((pico_fixtures / "sft-sample.jsonl").resolve())
    assert (entry["kind"], entry["status"], entry["lines"], entry["imported"]) == ("sft", "done", 23, 23)
    table = CliRunner(env={"COLUMNS": "160"}).invoke(cli, ["-w", str(tmp_path / "ws"), "imports"])
    assert "sft-sample.jsonl" in table.output and " done " in table.output


def test_import_errors_for_an_unknown_import(tmp_path):
    result = CliRunner().invoke(cli, ["-w", str(tmp_path / "ws"), "import-errors", "7"])
    assert result.exit_code == 2
    assert "no import matches '7'" in result.output
