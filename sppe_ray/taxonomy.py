"""The SPPE vocabulary: 36 privacy categories, 65 edit instructions and their task tags, as plain data.

Everything else keys on these tables (the builder picks which instructions a category receives, the editor
parses instruction codes, C2E-S2SER trains a task-tag head, reports group metrics by tag), so they live in
one place and contain no logic beyond lookups.

Instruction texts are the published strings byte for byte (including the sic "superheroe" and the mixed
capitalisation of "remove ..."), because CLIP text features and any comparison with published numbers
depend on the exact prompt.

Task tags (three classes, as the recovery method's auxiliary head uses):
- ``ADD_REMOVE``: something appears or disappears: accessories 001-006, removals 023/047/064/065 and the
  stains/scratches 048-051 (added marks, not a restyle).
- ``EDIT``: a local change of what is already there: identity/appearance of the person 007-018 and the card
  and ticket material edits 052-063 (they rewrite one object, not the whole picture).
- ``STYLE``: a global change of the whole image: era/style 019-022 and 024-036, background replacement
  037-041 and the advertisement/paper looks 042-046.
The released C2E-S2SER training code tags the background swaps 037-041 as its local-edit class and the
ticket edits 060-063 as style; we follow the project plan above and keep those published differences in
``PUBLISHED_TAG_DIFFERENCES`` so a compatibility run can switch with one dict update.

Category ids follow VISPR attribute naming. 28 come from visual_redactions; the SPPE paper uses 36 but does
not publish the other 8, so ``a301``-``a308`` are this project's own (source ``"sppe-ray"``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sppe_ray.errors import UnknownCategoryError, UnknownInstructionError

TASK_TAGS: tuple[str, ...] = ("ADD_REMOVE", "EDIT", "STYLE")
FALLBACK_INSTRUCTION = "edit the image"  # what the published code sends for an unknown code


@dataclass(frozen=True)
class Instruction:
    """One SPPE edit instruction: ``target`` says what must be in the picture for the edit to make sense."""

    code: str
    text: str
    task_tag: str
    target: str


@dataclass(frozen=True)
class Category:
    """One privacy category with how it is found, how it is hidden by default and what edits it receives."""

    id: str
    kind: str
    description: str
    detection: str
    surrogate: str
    instructions: tuple[str, ...]
    source: str


def _codes(first: int, last: int) -> tuple[str, ...]:
    return tuple(f"{i:03d}" for i in range(first, last + 1))


# (code range, target, task tag, texts) -- texts in code order.
_INSTRUCTION_BLOCKS: tuple[tuple[int, str, str, tuple[str, ...]], ...] = (
    (1, "person", "ADD_REMOVE", (
        "Let the person wear sunglasses", "Let the person wear a cowboy hat", "Let the person wear a cap",
        "Let the person wear earrings", "Make the person wear a scarf", "Make the person wear a suit and tie",
    )),
    (7, "person", "EDIT", (
        "Change the person's hair color to red", "Change the person's hair color to blonde",
        "Change the person's hair color to blue", "Make the person have curly hair",
        "Make the person look like a cyborg", "Turn the person into a cartoon character",
        "Turn the person into an anime character", "Make the person look like a superheroe",
        "Turn the person into a vampire", "Make the person look like a ghost", "Make the person look older",
        "Make the person look young",
    )),
    (19, "scene", "STYLE", (
        "Turn to be vintage", "Turn to be modern", "Turn to be medieval", "Turn to be high-tech",
    )),
    (23, "person", "ADD_REMOVE", ("remove the person",)),
    (24, "scene", "STYLE", (
        "Make it look like the 1920s", "Make it look like the 1980s", "Make it look futuristic",
        "Make it look like the Victorian era", "Turn to an ancient Chinese style",
        "Turn to a traditional Indian style", "Turn to an ancient Egyptian style",
        "Turn to a medieval European style", "Turn to an oil painting style", "Turn to a pencil sketch style",
        "Turn to a watercolor painting style", "Turn to a Monet-style watercolor painting",
        "Turn to a Van Gogh-style painting", "Change the background to a night scene",
        "Change the background to a sunset view", "Change the background to a forest",
        "Change the background to a bright, snowy landscape", "Change the background to an underwater scene",
        "Make it look like a luxury brand advertisement", "Make it look like a perfume advertisement",
        "Make it look like a magazine cover", "Make it look like an old, weathered paper",
        "Make it look like an ancient manuscript",
    )),
    (47, "text", "ADD_REMOVE", (
        "remove text", "Add some water stains", "Add some coffee stain", "Add some blue ink stains",
        "Add some scratches",
    )),
    (52, "card", "EDIT", (
        "Make the credit card look like a beautiful birthday card",
        "Make the credit card look like a leather credit card",
        "Make the credit card look like a golden engraved credit card",
        "Make the credit card look like a handwritten love letter",
        "Transform the credit card into a luxurious VIP membership card",
        "Make the credit card look like a marble credit card",
        "Turn the credit card into an elegant wedding invitation",
        "Make the credit card look like a wooden carved credit card",
    )),
    (60, "ticket", "EDIT", (
        "Make it look like a wooden carved ticket", "Make it look like a golden engraved ticket",
        "Make it look like a marble ticket", "Make it look like a leather ticket",
    )),
    (64, "laptop", "ADD_REMOVE", ("remove the laptop",)),
    (65, "plate", "ADD_REMOVE", ("remove the plate",)),
)

INSTRUCTIONS: dict[str, Instruction] = {
    f"{start + i:03d}": Instruction(f"{start + i:03d}", text, tag, target)
    for start, target, tag, texts in _INSTRUCTION_BLOCKS
    for i, text in enumerate(texts)
}

# Where the released C2E-S2SER training code tags differently from TASK tags above (see module docstring).
PUBLISHED_TAG_DIFFERENCES: dict[str, str] = {
    **{c: "EDIT" for c in _codes(37, 41)},
    **{c: "STYLE" for c in _codes(60, 63)},
}

# Instruction groups named in docs/taxonomy_plan.md.
SCENE = _codes(19, 22) + _codes(24, 46)
PERSON = _codes(1, 18) + ("023",)
TEXT = _codes(47, 51)
STAINS = _codes(48, 51)
CARD = _codes(52, 59)
TICKET = _codes(60, 63)
LAPTOP = ("064",)
PLATE = ("065",)

_VR, _OURS = "visual_redactions", "sppe-ray"

# id: (kind, detection, surrogate, groups, source, description)
_CATEGORY_ROWS: dict[str, tuple[str, str, str, tuple[tuple[str, ...], ...], str, str]] = {
    "a105_face_all": ("face", "face", "face_swap", (PERSON,), _VR, "A recognisable human face"),
    "a106_address_current_all": ("text", "text", "text_rerender", (TEXT,), _VR,
                                 "A current postal address written in the picture"),
    "a107_address_home_all": ("text", "text", "text_rerender", (TEXT,), _VR,
                              "A home address written in the picture"),
    "a108_license_plate_all": ("object", "text", "plate_fake", (TEXT, PLATE), _VR, "A vehicle licence plate"),
    "a109_person_body": ("person", "person", "blur", (PERSON,), _VR, "A whole person's body and figure"),
    "a110_nudity_all": ("body", "given", "pixelate", (PERSON,), _VR, "Nudity or partial nudity"),
    "a111_name_all": ("text", "text", "text_rerender", (TEXT,), _VR, "A person's full name in text"),
    "a18_ethnic_clothing": ("body", "given", "blur", (PERSON,), _VR,
                            "Clothing that reveals ethnic or cultural background"),
    "a24_birth_date": ("text", "text", "text_rerender", (TEXT,), _VR, "A date of birth in text"),
    "a26_handwriting": ("text", "text", "handwriting_synth", (TEXT,), _VR,
                        "A sample of someone's handwriting"),
    "a29_ausweis": ("document", "document", "document_fake", (TEXT, CARD), _VR, "A national identity card"),
    "a30_credit_card": ("document", "document", "document_fake", (TEXT, CARD), _VR, "A credit or debit card"),
    "a31_passport": ("document", "document", "document_fake", (TEXT,), _VR, "A passport page"),
    "a32_drivers_license": ("document", "document", "document_fake", (TEXT, CARD), _VR, "A driver's licence"),
    "a33_student_id": ("document", "document", "document_fake", (TEXT, CARD), _VR, "A student identity card"),
    "a35_mail": ("document", "document", "document_fake", (TEXT,), _VR,
                 "A letter or envelope with mail details"),
    "a37_receipt": ("document", "document", "document_fake", (TEXT,), _VR, "A purchase receipt"),
    "a38_ticket": ("document", "document", "document_fake", (TEXT, TICKET), _VR, "A travel or event ticket"),
    "a39_disability_physical": ("body", "given", "blur", (PERSON,), _VR, "A visible physical disability"),
    "a43_medicine": ("object", "text", "document_fake", (TEXT,), _VR,
                     "Medicine packaging revealing a treatment"),
    "a49_phone": ("object", "text", "document_fake", (TEXT,), _VR,
                  "A phone whose screen shows personal content"),
    "a70_education_history": ("document", "document", "document_fake", (TEXT,), _VR,
                              "A diploma, transcript or other record of education"),
    "a73_landmark": ("location", "given", "inpaint", (), _VR,
                     "A landmark that reveals where the photo was taken"),
    "a7_fingerprint": ("body", "given", "fingerprint_synth", (STAINS,), _VR, "A visible fingerprint"),
    "a82_date_time": ("text", "text", "text_rerender", (TEXT,), _VR, "A date or time stamp"),
    "a85_username": ("text", "text", "text_rerender", (TEXT,), _VR, "An online username or handle"),
    "a8_signature": ("text", "given", "signature_synth", (TEXT,), _VR, "A handwritten signature"),
    "a90_email": ("text", "text", "text_rerender", (TEXT,), _VR, "An e-mail address"),
    "a301_qr_code": ("object", "object", "code_fake", (STAINS,), _OURS,
                     "A QR code that may encode personal data"),
    "a302_barcode": ("object", "object", "code_fake", (STAINS,), _OURS,
                     "A barcode that may identify a person or purchase"),
    "a303_house_number": ("text", "text", "text_rerender", (TEXT,), _OURS, "A house number on a building"),
    "a304_tattoo": ("body", "given", "inpaint", (PERSON,), _OURS, "A tattoo that can identify its wearer"),
    "a305_work_badge": ("document", "document", "document_fake", (TEXT, CARD), _OURS,
                        "An employee badge with name or photo"),
    "a306_bank_statement": ("document", "document", "document_fake", (TEXT,), _OURS,
                            "A bank statement with account details"),
    "a307_phone_number": ("text", "text", "text_rerender", (TEXT,), _OURS, "A telephone number in text"),
    "a308_laptop_screen": ("object", "text", "document_fake", (TEXT, LAPTOP), _OURS,
                           "A laptop screen showing personal content"),
}


def _applicable(groups: tuple[tuple[str, ...], ...]) -> tuple[str, ...]:
    codes = set(SCENE)  # every category also takes every scene instruction
    for group in groups:
        codes.update(group)
    return tuple(sorted(codes))


CATEGORIES: dict[str, Category] = {
    cid: Category(cid, kind, description, detection, surrogate, _applicable(groups), source)
    for cid, (kind, detection, surrogate, groups, source, description) in _CATEGORY_ROWS.items()
}


def normalize_code(code: str | int) -> str:
    """Return the 3-digit form of an instruction code (``35``, ``"35"``, ``"035"`` -> ``"035"``)."""
    if isinstance(code, bool) or not isinstance(code, (str, int)):
        raise UnknownInstructionError(f"instruction code must be a string or int, got {type(code).__name__}")
    text = str(code).strip()
    if not text.isdigit():
        raise UnknownInstructionError(f"unknown instruction code {code!r}: expected 001-065")
    norm = f"{int(text):03d}"
    if norm not in INSTRUCTIONS:
        raise UnknownInstructionError(f"unknown instruction code {code!r}: expected 001-065")
    return norm


def resolve_instruction(text: str) -> str:
    """A code from what a person types: ``"35"``, ``"035 Make it ..."`` (a picked list entry), or the
    instruction's own text (case and surrounding spaces ignored). UnknownInstructionError otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise UnknownInstructionError("instruction is empty: give a code 001-065 or an instruction's text")
    head = text.strip().split(maxsplit=1)[0]
    if head.isdigit():
        return normalize_code(head)
    wanted = " ".join(text.split()).lower().rstrip(".")
    for code, instr in INSTRUCTIONS.items():
        if " ".join(instr.text.split()).lower().rstrip(".") == wanted:
            return code
    raise UnknownInstructionError(f"unknown instruction {text[:80]!r}: give a code 001-065 or one of the 65 "
                                  f"instructions' exact text")


def get_instruction(code: str | int) -> Instruction:
    """Look up an instruction by code; raises UnknownInstructionError for anything outside 001-065."""
    return INSTRUCTIONS[normalize_code(code)]


def instruction_text(code: str | int) -> str:
    """Prompt text for a code; an unknown code gets the published fallback instead of an error."""
    try:
        return get_instruction(code).text
    except UnknownInstructionError:
        return FALLBACK_INSTRUCTION


def get_category(category_id: str) -> Category:
    """Look up a category by id; raises UnknownCategoryError naming the bad id."""
    try:
        return CATEGORIES[category_id]
    except (KeyError, TypeError):
        raise UnknownCategoryError(f"unknown privacy category {category_id!r}") from None


def applicable_instructions(category_id: str) -> tuple[str, ...]:
    """Instruction codes that make sense on a picture of this category, sorted."""
    return get_category(category_id).instructions


def categories_for_instruction(code: str | int) -> tuple[str, ...]:
    """Category ids whose pictures can receive this instruction, in table order."""
    norm = normalize_code(code)
    return tuple(cid for cid, cat in CATEGORIES.items() if norm in cat.instructions)


def instructions_by_tag(task_tag: str) -> tuple[str, ...]:
    """All codes carrying one task tag, sorted; an unknown tag raises ValueError."""
    if task_tag not in TASK_TAGS:
        raise ValueError(f"unknown task tag {task_tag!r}; expected one of {', '.join(TASK_TAGS)}")
    return tuple(c for c, ins in INSTRUCTIONS.items() if ins.task_tag == task_tag)
