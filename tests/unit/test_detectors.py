"""Detectors on real and drawn content: the astronaut's face, text we draw, a QR code we encode."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from skimage import data

from sppe_ray.errors import ImageError
from sppe_ray.privacy.detectors import DETECTORS, classify_text, create_detector
from sppe_ray.privacy.detectors.base import nms_boxes
from sppe_ray.privacy.detectors.person import grabcut_refine
from sppe_ray.privacy.leakage import normalise_text

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
# The astronaut's face at 256 px, hand-checked (brow to chin): x 86..137, y 28..97.
FACE_CENTER = (111, 62)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return cv2.resize(data.astronaut(), (256, 256), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def text_image() -> np.ndarray:
    im = Image.new("RGB", (320, 200), (232, 230, 222))
    draw = ImageDraw.Draw(im)
    font = ImageFont.truetype(FONT, 24)
    draw.text((16, 20), "John Smith", fill=(15, 15, 50), font=font)
    draw.text((16, 80), "4111 1111 1111 1111", fill=(15, 15, 50), font=font)
    draw.text((16, 140), "mary@example.com", fill=(15, 15, 50), font=font)
    return np.asarray(im).copy()


def _covers(region, point) -> bool:  # noqa: ANN001
    x, y = point
    return bool(region.mask[y, x])


@pytest.mark.parametrize("name", ["dlib", "haar"])
def test_face_detectors_find_astronaut(astronaut: np.ndarray, name: str) -> None:
    regions = create_detector(name).detect(astronaut)
    faces = [r for r in regions if _covers(r, FACE_CENTER)]
    assert len(faces) == 1, [r.bbox for r in regions]
    face = faces[0]
    assert face.category == "a105_face_all" and face.detector == name
    assert 0.0 < face.score <= 1.0
    assert 1500 < face.area < 12000  # an oval around one face, not the whole frame
    assert not face.mask[250, 5]


def test_rapidocr_reads_drawn_text(text_image: np.ndarray) -> None:
    regions = create_detector("rapidocr").detect(text_image)
    read = {normalise_text(r.text) for r in regions}
    assert {"johnsmith", "4111111111111111", "maryexamplecom"} <= read
    for r in regions:
        assert r.mask.shape == text_image.shape[:2] and r.area > 0 and r.detector == "rapidocr"
    name = next(r for r in regions if normalise_text(r.text) == "johnsmith")
    x0, y0, x1, y1 = name.bbox
    assert 5 <= x0 <= 30 and 10 <= y0 <= 30 and 130 <= x1 <= 175 and y1 <= 60


def test_tesseract_reads_drawn_text(text_image: np.ndarray) -> None:
    import shutil

    if shutil.which("tesseract") is None:
        pytest.skip("tesseract binary not installed")
    read = " ".join(r.text for r in create_detector("tesseract").detect(text_image))
    assert "smith" in read.lower()


def test_composite_labels_categories(text_image: np.ndarray, astronaut: np.ndarray) -> None:
    scene = astronaut.copy()
    scene[200:256, 0:320 - 64] = text_image[140:196, 0:256]  # the email line under the face
    detector = create_detector("composite", face="haar", person=False)
    found = detector.detect(scene)
    cats = {r.category for r in found}
    assert "a105_face_all" in cats and "a90_email" in cats
    assert all(r.detector.startswith("composite:") for r in found)
    by_text = {r.category for r in detector.detect(text_image)}
    assert {"a111_name_all", "a30_credit_card", "a90_email"} <= by_text


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("jane.doe@mail.org", "a90_email"),
        ("@jdoe_99", "a85_username"),
        ("4111 1111 1111 1111", "a30_credit_card"),
        ("4111 1111 1111 1112", "a111_name_all"),  # fails Luhn: not a card
        ("12/03/1985", "a82_date_time"),
        ("DOB: 12.03.1985", "a24_birth_date"),
        ("2024-05-01 14:32", "a82_date_time"),
        ("(555) 123-4567", "a307_phone_number"),
        ("ABC 1234", "a108_license_plate_all"),
        ("123 Main Street", "a106_address_current_all"),
        ("Springfield, IL 62704", "a106_address_current_all"),
        ("42", "a303_house_number"),
        ("John Smith", "a111_name_all"),
        ("hello world", "a111_name_all"),
    ],
)
def test_classify_text(text: str, category: str) -> None:
    assert classify_text(text) == category


def test_objects_find_and_decode_qr() -> None:
    code = cv2.QRCodeEncoder.create().encode("https://example.org/secret")
    tile = cv2.resize(code, (120, 120), interpolation=cv2.INTER_NEAREST)
    img = np.full((256, 256, 3), 200, np.uint8)
    img[60:180, 70:190] = tile[..., None]
    regions = create_detector("objects").detect(img)
    assert len(regions) == 1
    qr = regions[0]
    assert qr.category == "a301_qr_code" and qr.text == "https://example.org/secret"
    x0, y0, x1, y1 = qr.bbox
    assert 60 <= x0 <= 100 and 50 <= y0 <= 90 and 160 <= x1 <= 200 and 150 <= y1 <= 190


def test_grabcut_keeps_the_figure_not_the_corners() -> None:
    img = np.full((160, 120, 3), 225, np.uint8)
    cv2.ellipse(img, (60, 85), (22, 55), 0, 0, 360, (40, 60, 150), -1)
    mask = grabcut_refine(img, (20, 15, 100, 150))
    assert mask[85, 60] and mask[50, 60]
    assert not mask[18, 23] and not mask[147, 97]
    assert not mask[5, 5]  # nothing outside the seed box


def test_person_detector_returns_regions_of_the_image_shape(astronaut: np.ndarray) -> None:
    regions = create_detector("person").detect(astronaut)
    assert all(r.category == "a109_person_body" and r.mask.shape == (256, 256) for r in regions)


def test_nms_drops_overlaps() -> None:
    keep = nms_boxes([(0, 0, 10, 10), (1, 1, 11, 11), (50, 50, 60, 60)], [0.5, 0.9, 0.4])
    assert keep == [1, 2]


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="unknown detector"):
        create_detector("nope")
    assert set(DETECTORS) == {"composite", "dlib", "haar", "rapidocr", "tesseract", "person", "objects"}
    with pytest.raises(ImageError, match="RGB uint8"):
        create_detector("haar").detect(np.zeros((64, 64), np.uint8))
    with pytest.raises(ImageError):
        create_detector("objects").detect(np.zeros((64, 64, 3), np.float32))
