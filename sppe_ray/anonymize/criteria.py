"""The nine privacy criteria groups of Unsafe2Safe's flagging prompt, and which of them our detectors see.

Why a table: the offline default finds faces, people, text lines (with dates, plates, phone numbers read from
them), documents and codes. It cannot see health indicators, cultural or religious cues, relationships or
settings, so those groups are recorded as ``not covered``; an image with nothing found is "nothing found in
the covered groups", never "safe".
"""

from __future__ import annotations

from collections.abc import Iterable

#: (key, the published group's scope), in the prompt's order.
GROUPS: tuple[tuple[str, str], ...] = (
    ("people", "faces full or partial, skin in private contexts, tattoos, emotions"),
    ("appearance", "cues to gender, culture, religion, status or role"),
    ("health", "casts, wheelchairs, bandages, medication, disability, injury"),
    ("text_symbols", "signs, receipts, documents, screens, handwriting, plates, usernames, phone numbers"),
    ("locations_time", "homes, offices, addresses, classrooms, GPS, clocks, date stamps"),
    ("interactions", "small groups, families, friends, teams, protests, celebrations"),
    ("professional", "uniforms, tools, name tags, diplomas, workspaces, formal events"),
    ("cultural", "flags, slogans, religious attire, ceremonies, posters"),
    ("belongings", "hobbies, photos, mail, social media, travel documents, receipts"),
)
#: Groups the offline detectors look for (group 5 only through addresses and dates read by OCR).
COVERED = frozenset({"people", "text_symbols", "locations_time"})
NOT_COVERED = "not covered"
FOUND = "found"
NONE_FOUND = "none found"

# What a category found by the detectors says about each group.
_BY_CATEGORY: dict[str, tuple[str, ...]] = {
    "a105_face_all": ("people",), "a109_person_body": ("people",), "a304_tattoo": ("people",),
    "a106_address_current_all": ("text_symbols", "locations_time"),
    "a107_address_home_all": ("text_symbols", "locations_time"),
    "a303_house_number": ("text_symbols", "locations_time"),
    "a82_date_time": ("text_symbols", "locations_time"), "a24_birth_date": ("text_symbols",),
    "a35_mail": ("text_symbols", "belongings"), "a37_receipt": ("text_symbols", "belongings"),
    "a31_passport": ("text_symbols", "belongings"), "a38_ticket": ("text_symbols", "belongings"),
    "a305_work_badge": ("text_symbols", "professional"), "a70_education_history": ("text_symbols", "professional"),
    "a43_medicine": ("text_symbols", "health"), "a39_disability_physical": ("health",),
    "a18_ethnic_clothing": ("appearance", "cultural"), "a73_landmark": ("locations_time",),
}


def groups_of(category: str) -> tuple[str, ...]:
    """The criteria groups a region of ``category`` falls under (text and codes: text and symbols)."""
    return _BY_CATEGORY.get(category, ("text_symbols",))


def review(categories: Iterable[str]) -> dict[str, str]:
    """Per group: ``found`` when a region falls under it, else ``none found`` for a covered group and
    ``not covered`` for one the offline detectors cannot see."""
    hit = {g for c in categories for g in groups_of(c)}
    return {key: FOUND if key in hit else (NONE_FOUND if key in COVERED else NOT_COVERED) for key, _ in GROUPS}


def coverage_note(status: dict[str, str]) -> str:
    """One line for the manifest: which groups were checked and which were not."""
    checked = [k for k, v in status.items() if v != NOT_COVERED]
    missing = [k for k, v in status.items() if v == NOT_COVERED]
    return f"checked: {', '.join(checked)}; not covered: {', '.join(missing) or 'none'}"
