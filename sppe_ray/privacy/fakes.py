"""Fake values for private text: what synthetic scenes print and what surrogates print in their place.

Every value comes from a `np.random.Generator`, so a scene and its surrogate are reproducible from seeds.
Faker supplies realistic names and addresses; one Faker instance per process is re-seeded from the
generator on every call, which gives the same determinism as a fresh instance per call without paying
Faker's start-up cost (tens of milliseconds) inside the 30 ms scene budget.
"""

from __future__ import annotations

import functools
import string
from datetime import date, datetime, timedelta

import numpy as np

from sppe_ray.errors import UnknownCategoryError

TEXT_KINDS: tuple[str, ...] = (
    "name", "address", "date", "datetime", "card_number", "plate", "email", "username", "phone",
    "house_number", "birth_date", "generic",
)

# What kind of value each of the 36 categories carries; non-text categories get "generic" (captions,
# stains) so that every category id has an answer and a typo is still an error.
_CATEGORY_KIND: dict[str, str] = {
    "a105_face_all": "generic", "a106_address_current_all": "address", "a107_address_home_all": "address",
    "a108_license_plate_all": "plate", "a109_person_body": "generic", "a110_nudity_all": "generic",
    "a111_name_all": "name", "a18_ethnic_clothing": "generic", "a24_birth_date": "birth_date",
    "a26_handwriting": "generic", "a29_ausweis": "name", "a30_credit_card": "card_number",
    "a31_passport": "name", "a32_drivers_license": "name", "a33_student_id": "name", "a35_mail": "address",
    "a37_receipt": "generic", "a38_ticket": "name", "a39_disability_physical": "generic",
    "a43_medicine": "name", "a49_phone": "phone", "a70_education_history": "name",
    "a73_landmark": "generic", "a7_fingerprint": "generic", "a82_date_time": "datetime",
    "a85_username": "username", "a8_signature": "name", "a90_email": "email", "a301_qr_code": "generic",
    "a302_barcode": "generic", "a303_house_number": "house_number", "a304_tattoo": "generic",
    "a305_work_badge": "name", "a306_bank_statement": "name", "a307_phone_number": "phone",
    "a308_laptop_screen": "username",
}

#: The day generated dates are drawn around (birth dates before it, document dates up to two years after).
REFERENCE_DAY = date(2026, 1, 1)
_DATE_FORMATS = ("%m/%d/%Y", "%d.%m.%Y", "%Y-%m-%d", "%d %b %Y", "%B %d, %Y")
_VOWELS = "aeiou"
_CONSONANTS = "bcdfghjklmnpqrstvwxyz"


@functools.lru_cache(maxsize=1)
def _faker():  # noqa: ANN202 - Faker's type is imported lazily
    from faker import Faker

    return Faker("en_US")


def _seeded_faker(rng: np.random.Generator):  # noqa: ANN202
    fake = _faker()
    fake.seed_instance(int(rng.integers(0, 2**31 - 1)))
    return fake


def luhn_checksum_digit(payload: str) -> str:
    """Check digit that makes `payload + digit` pass the Luhn test (ISO/IEC 7812)."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:  # these positions get doubled once the check digit is appended
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(number: str | int) -> bool:
    """True when the digits of `number` (spaces and dashes ignored) pass the Luhn test."""
    digits = "".join(ch for ch in str(number) if ch.isdigit())
    if len(digits) < 2 or any(ch not in "0123456789 -" for ch in str(number)):
        return False
    return luhn_checksum_digit(digits[:-1]) == digits[-1]


def card_number(rng: np.random.Generator) -> str:
    """16-digit Luhn-valid number with a real-looking brand prefix, grouped 4-4-4-4."""
    prefix = str(rng.choice(["4", "51", "52", "53", "54", "55", "6011", "4"]))
    body = prefix + "".join(str(d) for d in rng.integers(0, 10, 15 - len(prefix)))
    digits = body + luhn_checksum_digit(body)
    return " ".join(digits[i:i + 4] for i in range(0, 16, 4))


def card_brand(number: str) -> str:
    """Brand name a card with this number would print (the renderer keeps logo and number consistent)."""
    digits = "".join(ch for ch in number if ch.isdigit())
    if digits.startswith("4"):
        return "VISA"
    if digits[:2] in {"51", "52", "53", "54", "55"}:
        return "MASTERCARD"
    if digits.startswith("6011"):
        return "DISCOVER"
    return "BANK"


def _plate(rng: np.random.Generator) -> str:
    letters = lambda n: "".join(rng.choice(list(string.ascii_uppercase), n))  # noqa: E731
    digits = lambda n: "".join(str(d) for d in rng.integers(0, 10, n))  # noqa: E731
    style = int(rng.integers(0, 4))
    if style == 0:
        return f"{letters(3)} {digits(4)}"
    if style == 1:
        return f"{digits(1)}{letters(3)}{digits(3)}"
    if style == 2:
        return f"{letters(3)}-{digits(3)}"
    return f"{letters(2)} {digits(2)} {letters(3)}"


def fake_text(kind: str, rng: np.random.Generator) -> str:
    """A realistic fake value of `kind` (one of TEXT_KINDS); ValueError for an unknown kind."""
    if kind not in TEXT_KINDS:
        raise ValueError(f"unknown text kind {kind!r}; expected one of {', '.join(TEXT_KINDS)}")
    if kind == "card_number":
        return card_number(rng)
    if kind == "plate":
        return _plate(rng)
    fake = _seeded_faker(rng)
    if kind == "name":
        return fake.name()
    if kind == "address":
        return f"{fake.street_address()}\n{fake.city()}, {fake.state_abbr()} {fake.zipcode()}"
    # Dates come from the generator around a fixed day, never from Faker's "now": a build must not depend on
    # the day, the minute or the time zone it ran in (two builds minutes apart used to differ).
    if kind == "date":
        day = REFERENCE_DAY + timedelta(days=int(rng.integers(-8 * 365, 2 * 365)))
        return day.strftime(str(rng.choice(_DATE_FORMATS)))
    if kind == "birth_date":
        day = REFERENCE_DAY - timedelta(days=int(rng.integers(18 * 365, 85 * 365)))
        return day.strftime(str(rng.choice(_DATE_FORMATS)))
    if kind == "datetime":
        stamp = datetime.combine(REFERENCE_DAY, datetime.min.time()) - timedelta(
            seconds=int(rng.integers(0, 8 * 365 * 86400)))
        fmt = str(rng.choice(["%Y-%m-%d %H:%M", "%m/%d/%Y %I:%M %p", "%d.%m.%Y %H:%M:%S", "%Y/%m/%d %H:%M"]))
        return stamp.strftime(fmt)
    if kind == "email":
        return fake.email()
    if kind == "username":
        return fake.user_name()
    if kind == "phone":
        return fake.numerify(str(rng.choice(["(%##) %##-####", "%##-%##-####", "+1 %##-%##-####"])))
    if kind == "house_number":
        return fake.building_number()
    return fake.sentence(nb_words=int(rng.integers(3, 7))).rstrip(".")


def _replace_char(ch: str, rng: np.random.Generator) -> str:
    if ch.isdigit():
        return str(int(rng.integers(0, 10)))
    if ch.isalpha():
        pool = _VOWELS if ch.lower() in _VOWELS else _CONSONANTS
        out = str(rng.choice(list(pool)))
        return out.upper() if ch.isupper() else out
    return ch


def fake_like(text: str, rng: np.random.Generator) -> str:
    """A different value of the same shape: digits stay digits, letters stay letters (case and vowel or
    consonant kept, so it stays pronounceable), everything else is kept; a card number stays Luhn-valid.

    ValueError when `text` has no letter or digit, since nothing could then make it differ.
    """
    if not any(ch.isalnum() for ch in text):
        raise ValueError("fake_like needs at least one letter or digit to replace")
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    is_card = luhn_valid(text) and 13 <= len(digits) <= 19
    for _ in range(8):
        out = [_replace_char(ch, rng) for ch in text]
        if is_card:
            payload = "".join(out[i] for i in digits[:-1])
            out[digits[-1]] = luhn_checksum_digit(payload)
        candidate = "".join(out)
        if candidate != text:
            return candidate
    # A one-character input can redraw itself repeatedly; force the first replaceable char to move.
    i = next(i for i, ch in enumerate(text) if ch.isalnum())
    ch = text[i]
    pool = "0123456789" if ch.isdigit() else (_VOWELS if ch.lower() in _VOWELS else _CONSONANTS)
    pool = pool.upper() if ch.isupper() else pool
    repl = pool[(pool.find(ch) + 1 + int(rng.integers(0, len(pool) - 1))) % len(pool)]
    return text[:i] + repl + text[i + 1:]


def text_kind_for_category(category_id: str) -> str:
    """The fake_text kind that a category's private text has; UnknownCategoryError for an unknown id."""
    try:
        return _CATEGORY_KIND[category_id]
    except KeyError:
        raise UnknownCategoryError(f"unknown privacy category {category_id!r}") from None
