"""One detector for the whole taxonomy: faces, text lines (category guessed from what they say), people,
QR codes and barcodes, each Region labelled with a category id.

The category of a text line is a guess from its string alone (regexes, Luhn check for card numbers); the
order of the tests matters because a card number also looks like a phone number and a date like a plate.
"""

from __future__ import annotations

import re

import numpy as np

from sppe_ray.privacy.detectors.base import Detector, check_image
from sppe_ray.privacy.region import Region

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_HANDLE = re.compile(r"(^|\s)@[A-Za-z0-9_.]{2,}")
_DATE = re.compile(
    r"\b(\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}[./-]\d{1,2}[./-]\d{1,2}|"
    r"\d{1,2}\s+(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+\d{2,4}|"
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2},?\s+\d{4})\b",
    re.IGNORECASE,
)
_TIME = re.compile(r"\b\d{1,2}:\d{2}(:\d{2})?\s*(am|pm)?\b", re.IGNORECASE)
_BIRTH = re.compile(r"\b(birth|born|dob|geb)", re.IGNORECASE)
_PHONE = re.compile(r"^\s*(tel|phone|mobile|ph)?[.:]?\s*\+?[\d\s().-]{7,20}$", re.IGNORECASE)
_PLATE = re.compile(r"^[A-Z0-9]{1,4}[\s-]?[A-Z0-9]{1,4}([\s-]?[A-Z0-9]{1,4})?$")
_STREET = re.compile(
    r"\b\d+\s+\w+.*\b(st|street|ave|avenue|rd|road|blvd|boulevard|ln|lane|dr|drive|way|ct|court|pl|place|"
    r"suite|apt|str|strasse|straße|weg|allee|platz|hwy|highway|pkwy|parkway|sq|square|terrace|ter)\b\.?",
    re.IGNORECASE,
)
_ZIP_STATE = re.compile(r"\b[A-Z]{2}\s+\d{5}(-\d{4})?\b|\b\d{5}\s+[A-Z][a-z]+")
_NAME = re.compile(r"^([A-Z][a-z'’-]+\.?\s+){1,3}[A-Z][a-z'’-]+$")
_HOUSE = re.compile(r"^\d{1,4}[A-Za-z]?$")


def luhn_ok(digits: str) -> bool:
    """Luhn checksum of a digit string (card numbers pass, most random numbers fail)."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def classify_text(text: str) -> str:
    """The privacy category a detected text line most likely belongs to (generic text: a111_name_all)."""
    s = " ".join(text.split())
    digits = re.sub(r"\D", "", s)
    if _EMAIL.search(s):
        return "a90_email"
    if _HANDLE.search(s):
        return "a85_username"
    if 13 <= len(digits) <= 19 and re.fullmatch(r"[\d\s-]+", s) and luhn_ok(digits):
        return "a30_credit_card"
    if _DATE.search(s) or _TIME.search(s):
        return "a24_birth_date" if _BIRTH.search(s) else "a82_date_time"
    if _STREET.search(s) or _ZIP_STATE.search(s):
        return "a106_address_current_all"
    if _PHONE.match(s) and 7 <= len(digits) <= 15:
        return "a307_phone_number"
    if _HOUSE.match(s):
        return "a303_house_number"
    compact = s.replace(" ", "").replace("-", "")
    if (_PLATE.match(s) and 4 <= len(compact) <= 9 and re.search(r"[A-Z]", s) and re.search(r"\d", s)):
        return "a108_license_plate_all"
    return "a111_name_all"  # two capitalised words (a name) and any other text alike


class CompositeDetector:
    """Runs the face, text, code and (optionally) person detectors and labels every region by category.

    Sub-detectors are created lazily through create_detector so an unused backend never loads.
    """

    name = "composite"

    def __init__(self, face: str = "dlib", text: str = "rapidocr", person: bool = True, objects: bool = True) -> None:
        names = [face, text] + (["objects"] if objects else []) + (["person"] if person else [])
        self.parts = names
        self._detectors: dict[str, Detector] = {}

    def _get(self, name: str) -> Detector:
        if name not in self._detectors:
            from sppe_ray.privacy.detectors import create_detector

            self._detectors[name] = create_detector(name)
        return self._detectors[name]

    def detect(self, image: np.ndarray) -> list[Region]:
        check_image(image)
        regions: list[Region] = []
        for part in self.parts:
            for region in self._get(part).detect(image):
                if region.text is not None and region.category == "a111_name_all":
                    region.category = classify_text(region.text)
                region.meta = {**region.meta, "source_detector": region.detector}
                region.detector = f"{self.name}:{region.detector}"
                regions.append(region)
        return regions
