"""The taxonomy tables: counts, exact published texts, tags, applicability and lookups."""

import dataclasses

import pytest

from sppe_ray import taxonomy as tx
from sppe_ray.errors import UnknownCategoryError, UnknownInstructionError

PLAN_IDS = """a105_face_all a106_address_current_all a107_address_home_all a108_license_plate_all
a109_person_body a110_nudity_all a111_name_all a18_ethnic_clothing a24_birth_date a26_handwriting a29_ausweis
a30_credit_card a31_passport a32_drivers_license a33_student_id a35_mail a37_receipt a38_ticket
a39_disability_physical a43_medicine
a49_phone a70_education_history a73_landmark a7_fingerprint a82_date_time a85_username a8_signature a90_email
a301_qr_code a302_barcode a303_house_number a304_tattoo a305_work_badge a306_bank_statement a307_phone_number
a308_laptop_screen""".split()

STRATEGIES = {"face_swap", "text_rerender", "document_fake", "plate_fake", "handwriting_synth",
              "signature_synth", "fingerprint_synth", "code_fake", "blur", "pixelate", "fill", "inpaint"}


def test_counts_and_ids():
    assert len(tx.INSTRUCTIONS) == 65
    assert list(tx.INSTRUCTIONS) == [f"{i:03d}" for i in range(1, 66)]
    assert len(tx.CATEGORIES) == 36
    assert list(tx.CATEGORIES) == PLAN_IDS
    assert len({ins.text for ins in tx.INSTRUCTIONS.values()}) == 65  # no duplicated text


@pytest.mark.parametrize("code,text", [
    ("001", "Let the person wear sunglasses"),
    ("002", "Let the person wear a cowboy hat"),
    ("005", "Make the person wear a scarf"),
    ("007", "Change the person's hair color to red"),
    ("010", "Make the person have curly hair"),
    ("014", "Make the person look like a superheroe"),
    ("018", "Make the person look young"),
    ("019", "Turn to be vintage"),
    ("023", "remove the person"),
    ("024", "Make it look like the 1920s"),
    ("026", "Make it look futuristic"),
    ("032", "Turn to an oil painting style"),
    ("035", "Turn to a Monet-style watercolor painting"),
    ("037", "Change the background to a night scene"),
    ("040", "Change the background to a bright, snowy landscape"),
    ("046", "Make it look like an ancient manuscript"),
    ("047", "remove text"),
    ("048", "Add some water stains"),
    ("049", "Add some coffee stain"),
    ("052", "Make the credit card look like a beautiful birthday card"),
    ("056", "Transform the credit card into a luxurious VIP membership card"),
    ("058", "Turn the credit card into an elegant wedding invitation"),
    ("060", "Make it look like a wooden carved ticket"),
    ("063", "Make it look like a leather ticket"),
    ("064", "remove the laptop"),
    ("065", "remove the plate"),
])
def test_exact_texts(code, text):
    assert tx.INSTRUCTIONS[code].text == text
    assert tx.instruction_text(code) == text


def test_task_tags_follow_plan():
    def tagged(tag):
        return {c for c, i in tx.INSTRUCTIONS.items() if i.task_tag == tag}

    add_remove = {f"{i:03d}" for i in [*range(1, 7), 23, 47, *range(48, 52), 64, 65]}
    edit = {f"{i:03d}" for i in [*range(7, 19), *range(52, 64)]}
    style = {f"{i:03d}" for i in [*range(19, 23), *range(24, 47)]}
    assert tagged("ADD_REMOVE") == add_remove
    assert tagged("EDIT") == edit
    assert tagged("STYLE") == style
    assert set(tx.instructions_by_tag("EDIT")) == edit
    with pytest.raises(ValueError):
        tx.instructions_by_tag("REPLACE")
    for code, tag in tx.PUBLISHED_TAG_DIFFERENCES.items():
        assert tag in tx.TASK_TAGS and tag != tx.INSTRUCTIONS[code].task_tag


def test_targets():
    targets = {c: i.target for c, i in tx.INSTRUCTIONS.items()}
    assert {targets[c] for c in tx.PERSON} == {"person"}
    assert {targets[c] for c in tx.SCENE} == {"scene"}
    assert targets["047"] == "text" and targets["056"] == "card" and targets["061"] == "ticket"
    assert targets["064"] == "laptop" and targets["065"] == "plate"


def test_category_fields_are_valid():
    kinds = {"face", "person", "text", "document", "object", "location", "body"}
    detections = {"face", "person", "text", "document", "object", "given"}
    for cid, cat in tx.CATEGORIES.items():
        assert cat.id == cid
        assert cat.kind in kinds and cat.detection in detections and cat.surrogate in STRATEGIES
        assert cat.description and cat.description[0].isupper()
        ours = cid.split("_")[0] in {f"a{n}" for n in range(301, 309)}
        assert cat.source == ("sppe-ray" if ours else "visual_redactions")
        assert set(tx.SCENE) <= set(cat.instructions)
        assert list(cat.instructions) == sorted(set(cat.instructions))
        assert all(c in tx.INSTRUCTIONS for c in cat.instructions)


def test_plan_rows():
    c = tx.CATEGORIES
    assert c["a105_face_all"].surrogate == "face_swap" and c["a105_face_all"].detection == "face"
    assert set(c["a105_face_all"].instructions) == set(tx.SCENE) | set(tx.PERSON)
    assert set(c["a73_landmark"].instructions) == set(tx.SCENE)
    assert set(c["a7_fingerprint"].instructions) == set(tx.SCENE) | set(tx.STAINS)
    assert "047" not in c["a301_qr_code"].instructions
    assert set(c["a108_license_plate_all"].instructions) == set(tx.SCENE) | set(tx.TEXT) | {"065"}
    assert set(c["a30_credit_card"].instructions) == set(tx.SCENE) | set(tx.TEXT) | set(tx.CARD)
    assert "052" not in c["a31_passport"].instructions
    assert set(c["a38_ticket"].instructions) >= set(tx.TICKET)
    assert "064" in c["a308_laptop_screen"].instructions and "064" not in c["a49_phone"].instructions
    assert c["a8_signature"].detection == "given" and c["a8_signature"].surrogate == "signature_synth"


def test_every_instruction_applies_somewhere():
    for code in tx.INSTRUCTIONS:
        cats = tx.categories_for_instruction(code)
        assert cats, code
        assert all(code in tx.applicable_instructions(cid) for cid in cats)
    assert tx.categories_for_instruction("065") == ("a108_license_plate_all",)
    assert tx.categories_for_instruction(64) == ("a308_laptop_screen",)
    assert set(tx.categories_for_instruction("019")) == set(tx.CATEGORIES)


def test_lookups_accept_code_forms():
    assert tx.get_instruction("35") is tx.get_instruction("035") is tx.get_instruction(35)
    assert tx.get_instruction(" 7 ").code == "007"
    for bad in ["0", "66", "000", "abc", "", "3.5", -1, 100, None, True, 3.0]:
        with pytest.raises(UnknownInstructionError):
            tx.get_instruction(bad)
    assert tx.instruction_text("999") == "edit the image"
    assert tx.instruction_text(None) == "edit the image"


def test_unknown_category():
    with pytest.raises(UnknownCategoryError, match="a999"):
        tx.get_category("a999_nope")
    with pytest.raises(UnknownCategoryError):
        tx.applicable_instructions(["list"])  # unhashable input is still a typed error
    assert tx.get_category("a90_email").kind == "text"


def test_records_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        tx.INSTRUCTIONS["001"].text = "x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        tx.CATEGORIES["a90_email"].surrogate = "blur"
