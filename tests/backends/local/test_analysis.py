"""The analyser measures real images: OCR reads drawn text, the face cascade finds the astronaut, colours."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont
from skimage import data

from picobanana.backends.local import analysis
from picobanana.backends.local.analysis import analyse, colour_name, detect_faces, dominant_colours, ocr

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def font(size: int) -> ImageFont.FreeTypeFont:
    # DejaVu where Debian has it; Pillow's embedded FreeType font everywhere else.
    return ImageFont.truetype(str(_DEJAVU), size) if _DEJAVU.exists() else ImageFont.load_default(size=size)


def with_text(image: Image.Image, text: str, xy=(30, 30), size=44, fill=(255, 255, 255)):
    image = image.convert("RGB").copy()
    draw = ImageDraw.Draw(image)
    draw.text(xy, text, font=font(size), fill=fill, stroke_width=2, stroke_fill=(0, 0, 0))
    return image, draw.textbbox(xy, text, font=font(size), stroke_width=2)


def squash(text: str) -> str:
    return "".join(text.split()).upper()


def overlaps(a, b) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


@pytest.fixture(scope="module")
def astronaut():
    return Image.fromarray(data.astronaut())


@pytest.fixture(scope="module")
def coffee():
    return Image.fromarray(data.coffee())


def test_ocr_reads_text_drawn_on_a_plain_image_with_its_box():
    image, drawn = with_text(Image.new("RGB", (640, 200), (30, 60, 140)), "HELLO 2026", (40, 60), 56)
    found = ocr(image)
    assert "".join(squash(t.text) for t in found) == "HELLO2026"  # one line or one box per word, in order
    assert all(t.score > 0.9 for t in found)
    assert all(overlaps((t.x0, t.y0, t.x1, t.y1), drawn) for t in found)
    box = found[0].box
    assert (found[0].x0, found[0].y1) == (box.x0, box.y1)


def test_ocr_reads_text_on_a_photo_and_scales_boxes_back(astronaut):
    big = astronaut.resize((2048, 2048))  # over the OCR working size: boxes must come back in these pixels
    image, drawn = with_text(big, "OPEN DAILY", (300, 1700), 150)
    found = [t for t in ocr(image) if squash(t.text) == "OPENDAILY"]
    assert len(found) == 1, ocr(image)
    box = found[0].box
    assert overlaps((box.x0, box.y0, box.x1, box.y1), drawn)
    assert box.x1 - box.x0 > 0.6 * (drawn[2] - drawn[0])


def test_ocr_finds_nothing_on_photos_without_text(coffee):
    assert ocr(coffee) == []
    assert ocr(Image.fromarray(data.chelsea())) == []


def test_text_boxes_come_in_reading_order():
    image, _ = with_text(Image.new("RGB", (700, 400), (0, 0, 0)), "SECOND", (380, 60), 50)
    image, _ = with_text(image, "FIRST", (30, 66), 50)
    image, _ = with_text(image, "THIRD", (30, 250), 50)
    assert [squash(t.text) for t in ocr(image)] == ["FIRST", "SECOND", "THIRD"]


def test_one_engine_shared_by_concurrent_callers():
    first, _ = with_text(Image.new("RGB", (400, 120), (0, 0, 0)), "ALPHA", (20, 20), 48)
    second, _ = with_text(Image.new("RGB", (400, 120), (90, 20, 20)), "BRAVO", (20, 20), 48)
    results: dict[int, list[str]] = {}

    def read(index: int, image: Image.Image) -> None:
        results[index] = [squash(t.text) for t in ocr(image)]

    threads = [threading.Thread(target=read, args=(i, (first, second)[i % 2])) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {0: ["ALPHA"], 1: ["BRAVO"], 2: ["ALPHA"], 3: ["BRAVO"]}
    assert analysis._ocr_engine() is analysis._ocr_engine()


def test_faces_found_on_the_astronaut_and_not_on_objects(astronaut, coffee):
    faces = detect_faces(astronaut)
    assert len(faces) == 1
    face = faces[0]
    assert overlaps((face.x0, face.y0, face.x1, face.y1), (180, 70, 270, 170))  # Eileen Collins's face
    assert detect_faces(coffee) == []
    assert detect_faces(Image.fromarray(data.chelsea())) == []  # a cat's face is not a person


def test_brightness_contrast_and_warmth_are_measured():
    black, white = Image.new("RGB", (64, 64)), Image.new("RGB", (64, 64), (255, 255, 255))
    half = black.copy()
    half.paste((255, 255, 255), (0, 0, 32, 64))
    assert analyse(black, text=False, faces=False).brightness == 0
    assert analyse(white, text=False, faces=False).brightness == 1
    assert analyse(half, text=False, faces=False).contrast == pytest.approx(0.5, abs=0.01)
    warm = analyse(Image.new("RGB", (64, 64), (230, 140, 60)), text=False, faces=False)
    cool = analyse(Image.new("RGB", (64, 64), (60, 120, 220)), text=False, faces=False)
    assert (warm.tone, cool.tone) == ("warm", "cool")
    assert warm.warmth > 0.5 > -0.5 > cool.warmth


def test_dominant_colours_have_names_and_shares():
    image = Image.new("RGB", (100, 100), (30, 70, 220))
    image.paste((220, 30, 30), (0, 0, 30, 100))
    colours = dominant_colours(image)
    assert [c.name for c in colours] == ["blue", "red"]
    assert [c.share for c in colours] == pytest.approx([0.7, 0.3], abs=0.02)


@pytest.mark.parametrize("rgb, name", [
    ((0, 0, 0), "black"), ((250, 250, 250), "white"), ((128, 128, 128), "grey"), ((220, 30, 30), "red"),
    ((30, 170, 60), "green"), ((20, 30, 90), "dark blue"), ((120, 70, 30), "brown"), ((250, 215, 20), "yellow"),
    ((235, 215, 180), "beige"), ((245, 110, 180), "pink"),
])
def test_colour_names(rgb, name):
    assert colour_name(rgb) == name


def test_analyse_a_photo(astronaut, coffee):
    facts = analyse(astronaut)
    assert (facts.width, facts.height, facts.orientation) == (512, 512, "square")
    assert facts.has_person and not facts.has_text
    assert "red" in facts.colour_names
    cup = analyse(coffee)
    assert (cup.orientation, cup.has_person, cup.has_text, cup.tone) == ("landscape", False, False, "warm")
