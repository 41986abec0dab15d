"""Open Images mapping: Flickr URL → ImageID (CSV) → <ImageID>.jpg anywhere under a folder."""

from __future__ import annotations

import csv
import hashlib
import io
import json

import pytest
from PIL import Image

from picobanana.errors import InputError
from picobanana.io.importer import import_file
from picobanana.io.openimages import map_openimages

HEADER = ["ImageID", "Subset", "OriginalURL", "OriginalLandingURL", "License", "AuthorProfileURL", "Author",
          "Title", "OriginalSize", "OriginalMD5", "Thumbnail300KURL", "Rotation"]


def jpeg(path, seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (seed * 50 % 256, 90, 200)).save(buffer, "JPEG")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def write_csv(path, rows: list[tuple[str, str]], header=HEADER) -> None:
    with open(path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for image_id, url in rows:
            values = dict.fromkeys(header, "")
            values.update(ImageID=image_id, OriginalURL=url, Subset="train", Title="a, \"quoted\" title")
            writer.writerow([values[h] for h in header])


@pytest.fixture
def urls(store, pico_fixtures):
    import_file(store, pico_fixtures / "sft-sample.jsonl")
    import_file(store, pico_fixtures / "multi-turn-sample.jsonl")
    sft = [json.loads(line)["open_image_input_url"] for line in (pico_fixtures / "sft-sample.jsonl").open()]
    multi = json.loads((pico_fixtures / "multi-turn-sample.jsonl").read_text())
    source = next(f["url"] for f in multi["files"] if f["id"] == "original_input_image")
    return sft, source


def test_matched_not_in_csv_and_missing(store, urls, tmp_path):
    sft, multi_source = urls
    folder = tmp_path / "openimages"
    first = jpeg(folder / "train_0/000aadc350c9ae93.jpg", 1)
    chain_photo = jpeg(folder / "train_1/deep/er/0a1b2c3d4e5f6789.jpg", 2)
    jpeg(folder / "train_0/ffff000000000000.jpg", 3)  # in no CSV row we care about
    rows = [("000aadc350c9ae93", sft[0]),
            ("0a1b2c3d4e5f6789", multi_source.replace("https://", "http://")),  # other scheme: a match
            ("1111111111111111", sft[1]),  # in the CSV, no file
            ("2222222222222222", "https://farm9.staticflickr.com/9/unrelated_o.jpg")]
    rows += [(f"{i:016x}", f"https://example.org/{i}.jpg") for i in range(2000)]  # bulk the CSV does not need
    write_csv(tmp_path / "oi.csv", rows)

    report = map_openimages(store, tmp_path / "oi.csv", folder)

    assert report.wanted == 24 and report.csv_rows == 2004
    assert (report.matched, report.file_missing, report.not_in_csv, report.corrupt) == (2, 1, 21, 0)
    by_uri = {r["uri"]: r for r in store.query("SELECT * FROM sources")}
    matched = by_uri[sft[0]]
    assert matched["image_sha256"] == hashlib.sha256(first).hexdigest()
    assert (matched["open_images_id"], matched["variant"], matched["license"]) == (
        "000aadc350c9ae93", "openimages", "CC BY 2.0")
    assert matched["local_path"] == str(folder / "train_0/000aadc350c9ae93.jpg")
    assert by_uri[multi_source]["image_sha256"] == hashlib.sha256(chain_photo).hexdigest()
    missing = by_uri[sft[1]]
    assert (missing["image_sha256"], missing["open_images_id"], missing["variant"]) == (
        None, "1111111111111111", None)
    assert by_uri[sft[2]]["open_images_id"] is None
    assert store.images.thumbnail_path(matched["image_sha256"]).is_file()

    # Run again after extracting the missing file: only the sources still without an image are looked at.
    late = jpeg(folder / "train_1/1111111111111111.jpg", 4)
    again = map_openimages(store, tmp_path / "oi.csv", folder)
    assert (again.wanted, again.matched, again.file_missing, again.not_in_csv) == (22, 1, 0, 21)
    assert store.scalar("SELECT image_sha256 FROM sources WHERE uri = ?", (sft[1],)) == \
        hashlib.sha256(late).hexdigest()


def test_a_corrupt_open_images_file(store, urls, tmp_path):
    sft, _ = urls
    (tmp_path / "oi").mkdir()
    (tmp_path / "oi/abc.jpg").write_bytes(b"\xff\xd8\xff not really")
    write_csv(tmp_path / "oi.csv", [("abc", sft[0])])
    report = map_openimages(store, tmp_path / "oi.csv", tmp_path / "oi")
    assert (report.matched, report.corrupt) == (0, 1)
    assert "abc.jpg" in report.problems[0]
    assert store.scalar("SELECT open_images_id FROM sources WHERE uri = ?", (sft[0],)) == "abc"


def test_csv_without_the_needed_columns(store, urls, tmp_path):
    write_csv(tmp_path / "bad.csv", [], header=["id", "url"])
    (tmp_path / "oi").mkdir()
    with pytest.raises(InputError, match="ImageID and OriginalURL"):
        map_openimages(store, tmp_path / "bad.csv", tmp_path / "oi")


def test_nothing_wanted_reads_nothing(store, tmp_path):
    write_csv(tmp_path / "oi.csv", [("abc", "https://x/1.jpg")])
    (tmp_path / "oi").mkdir()
    report = map_openimages(store, tmp_path / "oi.csv", tmp_path / "oi")
    assert (report.wanted, report.csv_rows, report.matched) == (0, 0, 0)
