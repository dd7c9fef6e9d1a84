"""Face search: many faces, small faces, one face per face across passes, the cap, rotated passes; the page's
search finds the same faces."""

import base64
import io

import numpy as np
import pytest
from matplotlib import cbook
from PIL import Image

from demo.webpage import DIST
from inversefacenet import detection
from inversefacenet.detection import LandmarkDetector
from inversefacenet.images import load_image
from tests import test_web

EXAMPLE = "assets/examples/astronaut.jpg"
browser, site = test_web.browser, test_web.site  # the page's fixtures: Chromium, the built page served


@pytest.fixture(scope="module")
def detector():
    detector = LandmarkDetector()
    yield detector
    detector.close()


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    """The example at 256 px: a face of about 46 px (inter-ocular about 21 px)."""
    import cv2

    return cv2.resize(load_image(EXAMPLE), (256, 256), interpolation=cv2.INTER_AREA)


def grid(portrait: np.ndarray) -> np.ndarray:
    """1024 x 768: twelve copies of the portrait (the issue's case: 2 found before)."""
    return np.tile(portrait, (3, 4, 1))


def test_twelve_copies_give_twelve_faces(detector, portrait):
    faces = detector(grid(portrait))
    assert len(faces) == 12
    centres = sorted((round((f.box[1] + f.box[3]) / 2 // 256), round((f.box[0] + f.box[2]) / 2 // 256)) for f in faces)
    assert centres == [(row, column) for row in range(3) for column in range(4)]  # one in each cell


def test_small_faces_in_a_large_photo_are_found(detector, portrait):
    """Three faces of inter-ocular ~21 px in a 2400 x 1800 photo (~4 MP): found by the tiles, boxes in place."""
    photo = np.full((1800, 2400, 3), 90, np.uint8)
    corners = [(100, 150), (1200, 1700), (1500, 400)]
    for y, x in corners:
        photo[y : y + 256, x : x + 256] = portrait
    expected = detector(portrait)[0].box
    boxes = sorted(face.box for face in detector(photo))
    assert len(boxes) == 3
    for box, (y, x) in zip(boxes, sorted(corners, key=lambda c: c[1]), strict=True):
        np.testing.assert_allclose(box, np.array(expected) + [x, y, x, y], atol=3)


def test_a_face_found_by_several_passes_is_one_face(detector, monkeypatch):
    """The example is found by the short-range pass and the full-range tiles of two levels: one face."""
    passes = []

    def counted(*args):
        boxes, scores = original(*args)
        passes.append(len(boxes))
        return boxes, scores

    original = detection._boxes
    monkeypatch.setattr(detection, "_boxes", counted)
    faces = detector(load_image(EXAMPLE))
    assert sum(n > 0 for n in passes) >= 2, passes
    assert len(faces) == 1


@pytest.mark.parametrize("cap", [1, 5])
def test_the_cap_keeps_that_many_faces(portrait, cap):
    capped = LandmarkDetector(max_faces=cap)
    assert len(capped(grid(portrait))) == cap
    capped.close()


def test_the_default_cap_is_at_least_32():
    assert LandmarkDetector.__init__.__defaults__[0] >= 32


def test_a_face_turned_90_degrees_is_found_by_a_rotated_pass(detector):
    """Grace Hopper turned a quarter: upright search finds nothing; the rotated passes find her, points in place."""
    photo = load_image(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    upright = detector(photo)[0].landmarks[:, :2]
    turned = np.ascontiguousarray(np.rot90(photo))
    only_upright = LandmarkDetector(rotations=False)
    assert only_upright(turned) == []
    only_upright.close()
    faces = detector(turned)
    assert len(faces) == 1
    expected = np.stack([upright[:, 1], photo.shape[1] - upright[:, 0]], axis=1)  # rot90: (x, y) -> (y, W - x)
    assert np.abs(faces[0].landmarks[:, :2] - expected).mean() < 3


def test_bad_settings_are_refused():
    for settings in ({"max_faces": 0}, {"min_face": 1}, {"max_idle": 0}):
        with pytest.raises(ValueError, match=next(iter(settings))):
            LandmarkDetector(**settings)


def group_photo(portrait: np.ndarray) -> np.ndarray:
    """1200 x 700: the example, Grace Hopper and the example flipped and smaller: faces of 43-110 px, on grey."""
    import cv2

    grace = load_image(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    photo = np.full((700, 1200, 3), 110, np.uint8)
    places = [(portrait, (20, 20, 400)), (grace, (450, 100, 330)), (portrait[:, ::-1], (820, 30, 300)),
              (portrait, (830, 400, 260)), (portrait[:, ::-1], (100, 440, 240))]  # fmt: skip
    for image, (x, y, width) in places:
        small = cv2.resize(image, (width, round(width * image.shape[0] / image.shape[1])), interpolation=cv2.INTER_AREA)
        photo[y : y + small.shape[0], x : x + small.shape[1]] = small
    return photo


@pytest.mark.skipif(not (DIST / "index.html").is_file(), reason="the page is not built: make web-build")
@pytest.mark.parametrize("name", ["twelve copies", "group"])
def test_the_page_finds_every_face_python_finds(browser, site, detector, portrait, name):
    """The page's rule (detector, tiles, mesh on each crop) finds the same faces, boxes within a few px."""
    photo = grid(portrait) if name == "twelve copies" else group_photo(portrait)
    expected = np.array([face.box for face in detector(photo)])
    assert len(expected) == (12 if name == "twelve copies" else 5)
    page = browser.new_page()
    page.goto(f"{site}?backend=wasm")
    page.evaluate("window.inverseFaceNet.ready")
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    faces = [np.array(face).reshape(-1, 2)[:468] for face in page.evaluate("u => window.inverseFaceNet.detect(u)", url)]
    page.close()
    found = np.array([(*face.min(axis=0), *face.max(axis=0)) for face in faces])
    assert len(found) == len(expected)
    nearest = np.abs(found[:, None] - expected[None]).max(axis=2).argmin(axis=1)  # each found box's twin
    assert sorted(nearest) == list(range(len(expected)))
    np.testing.assert_allclose(found, expected[nearest], atol=0.06 * 256)
