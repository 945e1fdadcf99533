"""Dataset anonymization without Ray: captions and their parser, criteria coverage, the manifest files,
stage 2 methods (our strategies, deface) and the per-image metrics on real faces and text."""

import csv
import json

import numpy as np
import pytest
import skimage.data

from sppe_ray.anonymize import criteria, manifest
from sppe_ray.anonymize.captions import parse_flag, parse_sections, render_sections, template_captions
from sppe_ray.anonymize.rewrite import ANONYMIZERS, create_rewriter
from sppe_ray.anonymize.runner import ImageAnonymizer, image_seed
from sppe_ray.config import load_config
from sppe_ray.errors import BackendUnavailableError
from sppe_ray.imageio import load_image, save_image
from sppe_ray.privacy.region import Region


def _text_region(shape=(64, 64)) -> Region:
    m = np.zeros(shape, bool)
    m[10:30, 5:60] = True
    return Region("a111_name_all", m, text="Jane Doe")


def test_template_captions_keep_private_text_out_of_the_public_caption():
    c = template_captions("street_scene", [_text_region()], seed=3)
    assert c.flag and "Jane Doe" in c.private and "Jane Doe" not in c.public
    assert "street scene" in c.public and c.instruction and c.combined.startswith(c.public.rstrip("."))
    assert template_captions("street_scene", [_text_region()], seed=3) == c  # seeded, deterministic


def test_no_region_is_not_flagged_and_has_no_instruction():
    c = template_captions("cats", [], seed=0)
    assert not c.flag and c.instruction == "" and c.private == c.public


def test_instructions_are_identity_neutral_one_per_kind():
    face = Region("a105_face_all", np.ones((8, 8), bool))
    c = template_captions("", [face, face], seed=1)
    assert c.instruction.count("different person's face") == 1


def test_section_parser_reads_the_published_format_and_the_flag_rule():
    c = template_captions("x", [_text_region()], seed=0)
    parsed = parse_sections(render_sections(c))
    assert parsed["FULL_VISUAL_DESCRIPTION"] == c.private and parsed["PRIVACY_PRESERVING_DESCRIPTION"] == c.public
    assert parse_flag(render_sections(c)) is True
    assert parse_flag("**PRIVACY_FLAG:** false") is False
    assert parse_flag("nothing here, but TRUE somewhere") is True  # a TRUE/FALSE anywhere (published parser)
    assert parse_flag("no verdict") is None and parse_sections("garbage") == {}


def test_groups_the_detectors_cannot_see_are_not_covered_never_safe():
    status = criteria.review([])
    assert status["people"] == criteria.NONE_FOUND and status["health"] == criteria.NOT_COVERED
    assert criteria.review(["a105_face_all"])["people"] == criteria.FOUND
    assert "not covered: appearance" in criteria.coverage_note(status)


def test_inputs_listing_layout_and_class(tmp_path):
    for rel in ("a/x.png", "a/x.mask.png", ".hidden/y.png", "b/c/z.jpg", "notes.txt", "top.webp"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    assert manifest.list_inputs(tmp_path) == ["a/x.png", "b/c/z.jpg", "top.webp"]
    assert manifest.image_class("b/c/z.jpg") == "c" and manifest.image_class("top.webp") == ""
    assert manifest.caption_path(tmp_path, "b/c/z.jpg").name == "z_caption.json"


def test_regions_round_trip_through_the_record_folder(tmp_path):
    r = _text_region((37, 41))
    manifest.save_regions(tmp_path, "a/x.png", [r])
    back = manifest.load_regions(tmp_path, "a/x.png")
    assert len(back) == 1 and back[0].category == r.category and back[0].text == "Jane Doe"
    assert np.array_equal(back[0].mask, r.mask)
    manifest.save_regions(tmp_path, "empty.png", [])
    assert manifest.load_regions(tmp_path, "empty.png") == []


def test_two_inputs_that_would_write_one_output_are_refused(tmp_path):
    from sppe_ray.errors import ConfigError

    for name in ("a.jpg", "a.png"):
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(ConfigError, match="a.jpg and a.png"):
        manifest.list_inputs(tmp_path)


def test_regions_keep_their_box_score_and_detector(tmp_path):
    m = np.zeros((40, 40), bool)
    m[5:30, 8:28] = True
    r = Region("a105_face_all", m, 0.8, "composite:dlib", meta={"box": (10, 8, 26, 28), "other": object()})
    manifest.save_regions(tmp_path, "f.png", [r])
    back = manifest.load_regions(tmp_path, "f.png")[0]
    assert back.known_box() == (10, 8, 26, 28) and back.score == 0.8 and back.detector == "composite:dlib"
    assert "other" not in back.meta


def test_image_seed_is_stable_and_depends_on_the_path():
    assert image_seed(0, "a.png") == image_seed(0, "a.png") != image_seed(0, "b.png") != image_seed(1, "a.png")


@pytest.fixture(scope="module")
def astronaut():
    return np.ascontiguousarray(skimage.data.astronaut()[:300, 50:350])


def test_every_method_is_registered_and_instruct_pix2pix_needs_weights():
    cfg = load_config(environ={}).anonymize
    assert set(ANONYMIZERS.names()) >= {"surrogate", "inpaint", "blur", "pixelate", "fill", "instruct_pix2pix",
                                        "deface_blur", "deface_mosaic"}
    with pytest.raises(BackendUnavailableError, match="anonymize.editor_model"):
        create_rewriter("instruct_pix2pix", cfg)


def test_surrogate_rewrites_only_the_regions_and_passes_its_checks(astronaut):
    r = Region("a105_face_all", np.zeros(astronaut.shape[:2], bool))
    r.mask[30:170, 110:230] = True
    done = create_rewriter("fill", load_config(environ={}).anonymize).rewrite(astronaut, [r], "", 0)
    assert np.array_equal(done.image[~r.mask], astronaut[~r.mask]) and not done.fallback
    assert (done.image[r.mask] != astronaut[r.mask]).any() and all(c["ok"] for c in done.checks)


@pytest.mark.parametrize("method", ["deface_blur", "deface_mosaic"])
def test_deface_peer_finds_and_hides_the_face(astronaut, method):
    done = create_rewriter(method, load_config(environ={}).anonymize).rewrite(astronaut, [], "", 0)
    assert "found 1 face" in done.note and (done.image != astronaut).any()


def test_pair_metrics_on_a_real_face_identical_and_swapped(astronaut):
    from sppe_ray.metrics.anonymization.analysis import look, pair_metrics
    from sppe_ray.privacy.detectors import create_detector
    from sppe_ray.privacy.protect import find_regions

    seen = look(astronaut, None)
    assert len(seen.boxes) == 1
    same = pair_metrics(astronaut, astronaut, seen, None)
    assert same["face_sim"] == pytest.approx(1.0) and same["faces_reidentified"] == 1 and same["rubric_score"] == 0
    faces = [r for r in find_regions(astronaut, create_detector("dlib"))]
    swapped = create_rewriter("surrogate", load_config(environ={}).anonymize).rewrite(astronaut, faces, "", 0)
    mask = np.any([r.mask for r in faces], axis=0)
    m = pair_metrics(astronaut, swapped.image, seen, mask)
    assert m["faces_reidentified"] == 0 and m["face_distance_at_box"] > 0.6 and m["near_copy"] is False
    assert m["outside_change"] == 0.0 and m["rubric_score"] > 20
    assert m["judge"].startswith("ANONYMIZATION_SCORE: ")


def test_pair_metrics_text_removed_and_no_text():
    from sppe_ray.metrics.anonymization.analysis import look, pair_metrics
    from sppe_ray.privacy.photos import background_photos
    from sppe_ray.privacy.synthetic import render_scene

    scene = render_scene("a111_name_all", background_photos()[0][1], np.random.default_rng(4), size=256)
    seen = look(scene.image, scene.union_mask())
    read = "".join(seen.text.split()).lower()
    assert len(read) >= 4 and read[:4] in "".join(scene.regions[0].text.split()).lower()
    filled = create_rewriter("fill", load_config(environ={}).anonymize).rewrite(scene.image, scene.regions, "", 0)
    m = pair_metrics(scene.image, filled.image, seen, scene.union_mask())
    assert m["text_sim"] < 0.5 and m["text_tokens_reidentified"] == 0
    blank = np.full((64, 64, 3), 120, np.uint8)
    m = pair_metrics(blank, blank, look(blank, None), None)
    assert np.isnan(m["text_sim"]) and np.isnan(m["face_sim"])  # no text, no face: not scored


def test_image_anonymizer_writes_every_file_and_skips_bad_input(tmp_path, astronaut):
    root, out = tmp_path / "in", tmp_path / "out"
    save_image(root / "people" / "astro.png", astronaut)
    (root / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    (root / "empty.png").write_bytes(b"")
    worker = ImageAnonymizer(load_config(environ={}).anonymize, "blur")
    records = {rel: worker.process(root, rel, out) for rel in manifest.list_inputs(root)}
    assert records["broken.jpg"]["status"] == records["empty.png"]["status"] == "skipped"
    ok = records["people/astro.png"]
    assert ok["status"] == "ok" and ok["columns"]["PRIVACY_FLAG"] == "TRUE"
    assert any(r["category"] == "a105_face_all" for r in ok["stage1"]["regions"])
    assert load_image(out / "people" / "astro.png").shape == astronaut.shape
    assert "PRIVACY_FLAG: TRUE" in json.loads(manifest.caption_path(out, "people/astro.png").read_text())["caption"]
    summary = manifest.collect(out, manifest.list_inputs(root))
    assert summary["anonymized"] == 1 and summary["skipped"] == 2
    with (out / "manifest.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[:6] == list(manifest.COLUMNS) and rows[0]["file"] == "people/astro.png"


def test_anon_mini_is_deterministic_labelled_and_never_mixed(tmp_path):
    from sppe_ray.datasets.anon_mini import build_anon_mini, read_labels
    from sppe_ray.errors import BenchmarkError

    a, b = build_anon_mini(tmp_path / "a", n=10, seed=2), build_anon_mini(tmp_path / "b", n=10, seed=2)
    rows = read_labels(a)
    assert len(rows) == 10 and rows == read_labels(b) and {r["split"] for r in rows} <= {"train", "test"}
    for r in rows:
        assert (a / r["file"]).read_bytes() == (b / r["file"]).read_bytes()
        assert r["file"].split("/")[0] == r["class"]
        truth = a / ".truth" / r["file"].replace(".png", ".mask.png")
        assert truth.is_file() == r["private"] == bool(r["category"])
    assert build_anon_mini(a, n=10, seed=2) == a  # complete: kept as is
    with pytest.raises(BenchmarkError, match="not empty"):
        build_anon_mini(a, n=12, seed=2)
