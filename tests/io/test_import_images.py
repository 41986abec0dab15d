"""Release images found under --images-root, source images from local_input_image, corrupt files."""

from __future__ import annotations

import hashlib
import io
import json

from PIL import Image

from picobanana.io.image_attach import attach_images, safe_join
from picobanana.io.importer import import_file


def png(path, seed: int, size=(20, 14)) -> bytes:
    image = Image.new("RGB", size, (seed * 40 % 256, seed * 90 % 256, seed * 150 % 256))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_images_root_attaches_found_files_and_counts_the_rest(store, pico_fixtures, tmp_path):
    root = tmp_path / "release"
    one = png(root / "images/positive-edit/1.png", 1)
    retry = png(root / "images/positive-edit/kf3o5u_retry1.png", 2)
    rejected = png(root / "images/rejected-edit/14.png", 3)  # given with the nano-banana-300k/ prefix
    turn2 = png(root / "images/multi-turn/101_attemptB_turn2.png", 4)
    final = png(root / "images/multi-turn/101_attemptB_turn5.png", 5)

    reports = [import_file(store, pico_fixtures / f"{name}-sample.jsonl", images_root=root)
               for name in ("sft", "preference", "multi-turn")]

    sft, preference, multi = (r.images for r in reports)
    assert (sft.attached, sft.missing, sft.missing_rejected, sft.corrupt) == (2, 21, 0, 0)
    assert (preference.attached, preference.missing, preference.missing_rejected) == (1, 3, 4)
    assert (multi.attached, multi.missing) == (2, 3)
    stored = dict(store.query("SELECT output_ref, output_sha256 FROM attempts "
                              "WHERE output_sha256 IS NOT NULL"))
    assert stored == {"images/positive-edit/1.png": sha(one),
                      "images/positive-edit/kf3o5u_retry1.png": sha(retry),
                      "images/rejected-edit/14.png": sha(rejected),
                      "images/multi-turn/101_attemptB_turn2.png": sha(turn2),
                      "images/multi-turn/101_attemptB_turn5.png": sha(final)}
    for digest in stored.values():
        assert store.images.file_of(digest).read_bytes() in (one, retry, rejected, turn2, final)
        assert store.images.thumbnail_path(digest).is_file()
    assert store.scalar("SELECT COUNT(*) FROM images") == 5


def test_images_added_later_with_a_second_run(store, pico_fixtures, tmp_path):
    root = tmp_path / "release"
    import_file(store, pico_fixtures / "sft-sample.jsonl", images_root=root)
    data = png(root / "images/positive-edit/44.png", 7)
    again = import_file(store, pico_fixtures / "sft-sample.jsonl", images_root=root)
    assert again.status == "already_imported"
    assert (again.images.attached, again.images.missing) == (1, 22)
    digest = store.scalar("SELECT output_sha256 FROM attempts WHERE output_ref = ?",
                          ("images/positive-edit/44.png",))
    assert digest == sha(data)
    # attach_images over the whole workspace finds nothing new to do for that file.
    report = attach_images(store, root)
    assert (report.attached, report.missing) == (0, 22)


def test_a_corrupt_image_is_counted_and_the_record_kept(store, pico_fixtures, tmp_path):
    root = tmp_path / "release"
    good = png(root / "images/positive-edit/1.png", 1)
    (root / "images/positive-edit/1239.png").write_bytes(good[:len(good) - 30])  # truncated PNG
    (root / "images/positive-edit/44.png").write_bytes(b"definitely not an image")
    report = import_file(store, pico_fixtures / "sft-sample.jsonl", images_root=root)
    assert report.kinds["sft"].imported == 23 and report.rejected == 0
    assert (report.images.attached, report.images.corrupt, report.images.missing) == (1, 2, 20)
    problems = {p.path.rsplit("/", 1)[-1]: (p.reason, p.import_line) for p in report.images.problems}
    assert problems["44.png"] == ("not an image file (unrecognised format)", 3)
    assert problems["1239.png"][1] == 2 and "corrupt or truncated" in problems["1239.png"][0]
    row = store.query("SELECT status, output_sha256, failure_reason FROM attempts "
                      "WHERE output_ref = 'images/positive-edit/44.png'")[0]
    assert (row["status"], row["output_sha256"]) == ("ok", None)
    assert row["failure_reason"] == "output image unreadable: not an image file (unrecognised format)"


def test_local_input_image_relative_to_the_jsonl_folder(store, pico_fixtures, tmp_path):
    folder = tmp_path / "data"
    photo = png(folder / "sources/a.png", 9, size=(30, 20))
    elsewhere = png(tmp_path / "abs/b.png", 10)
    records = [json.loads(line) for line in (pico_fixtures / "sft-sample.jsonl").read_text().splitlines()[:4]]
    records[0]["local_input_image"] = "sources/a.png"  # relative: to the JSONL's folder
    records[1]["local_input_image"] = str(tmp_path / "abs/b.png")  # absolute
    records[2]["local_input_image"] = "sources/missing.png"
    (folder / "sources/broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    records[3]["local_input_image"] = "sources/broken.png"
    path = folder / "with_local.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))

    report = import_file(store, path)

    assert report.images is not None
    images = report.images
    assert (images.sources_attached, images.sources_missing, images.sources_corrupt) == (2, 1, 1)
    rows = {r["uri"]: r for r in store.query("SELECT * FROM sources")}
    first, second = rows[records[0]["open_image_input_url"]], rows[records[1]["open_image_input_url"]]
    assert (first["image_sha256"], first["variant"]) == (sha(photo), "local")
    assert first["local_path"] == str(folder / "sources/a.png")
    assert second["image_sha256"] == sha(elsewhere)
    assert rows[records[2]["open_image_input_url"]]["image_sha256"] is None


def test_safe_join_refuses_escapes(tmp_path):
    assert safe_join(tmp_path, "images/positive-edit/1.png") == tmp_path / "images/positive-edit/1.png"
    assert safe_join(tmp_path, "../../etc/passwd") is None
    assert safe_join(tmp_path, "/etc/passwd") is None
    assert safe_join(tmp_path, "https://example.org/1.png") is None


def test_link_mode_hard_links(store, pico_fixtures, tmp_path):
    root = tmp_path / "release"
    png(root / "images/positive-edit/1.png", 1)
    import_file(store, pico_fixtures / "sft-sample.jsonl", images_root=root, link=True)
    digest = store.scalar("SELECT output_sha256 FROM attempts WHERE output_ref = ?",
                          ("images/positive-edit/1.png",))
    stored = store.images.file_of(digest)
    assert stored.stat().st_ino == (root / "images/positive-edit/1.png").stat().st_ino
