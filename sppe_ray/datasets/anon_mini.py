"""anon-mini: the default offline data set of dataset anonymization, with a utility label per image.

Each image is a 256 x 256 crop of one of the bundled real photos (scikit-image and opencv-doc samples) with,
in most images, one piece of synthetic private content composited in (faces and persons from the photos with
people, signs with names, phone numbers, e-mails and addresses, licence plates, cards, receipts, letters, QR
codes, phone screens) and in about a fifth nothing private. The utility label is the photo the image was
cut from (its "scene class", like a Caltech-101 class: one of eight background photos, or the photo of a
person when the image is a crop of it): a downstream classifier should still tell the
scenes apart after the private regions are rewritten. Layout (the published {image_class} = parent folder):

    <root>/<class>/<id>.png           the image
    <root>/labels.csv                 file, class, split (train/test), private, category
    <root>/.truth/<class>/<id>.mask.png   ground-truth private mask (white = private), for flag checks
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np

from sppe_ray.imageio import save_image
from sppe_ray.privacy.photos import background_photos
from sppe_ray.privacy.synthetic import render_scene
from sppe_ray.privacy.synthetic.compose import add_noise, prepare_background

#: (category, weight) of the private content; faces weigh most, as in the photo sets Unsafe2Safe cleans.
CONTENT: tuple[tuple[str, int], ...] = (
    ("a105_face_all", 4), ("a109_person_body", 1), ("a111_name_all", 1), ("a307_phone_number", 1),
    ("a90_email", 1), ("a106_address_current_all", 1), ("a108_license_plate_all", 1), ("a30_credit_card", 1),
    ("a29_ausweis", 1), ("a37_receipt", 1), ("a35_mail", 1), ("a301_qr_code", 1), ("a49_phone", 1),
)
#: The scene classes (background photos); a photo missing on this machine is left out.
SCENES = ("skimage/coffee", "skimage/chelsea", "skimage/rocket", "opencv/fruits", "opencv/building",
          "opencv/baboon", "opencv/butterfly", "opencv/smarties")
NOT_PRIVATE_SHARE = 0.2
TEST_SHARE = 0.3
SIZE = 256


def _class_of(photo_name: str) -> str:
    return photo_name.split("/")[-1]


def _scene_class(scene_group: str, meta: dict, base_name: str) -> str:
    """A person photo cropped as the whole frame belongs to that photo's class, else to the background's."""
    if scene_group.startswith("person-") and np.allclose(meta.get("homography", np.eye(3)), np.eye(3)):
        return _class_of(scene_group.removeprefix("person-"))
    return _class_of(base_name)


def build_anon_mini(root: str | Path, n: int = 96, seed: int = 0) -> Path:
    """Write the data set under ``root`` (deterministic for ``n`` and ``seed``); returns ``root``.

    An existing complete set (its labels.csv lists ``n`` files) is kept as is; a folder holding anything else
    is refused, so images of two sets never mix."""
    from sppe_ray.errors import BenchmarkError

    root = Path(root)
    labels = root / "labels.csv"
    if labels.is_file() and sum(1 for _ in labels.open()) == n + 1:
        return root
    if root.is_dir() and any(root.iterdir()):
        raise BenchmarkError(f"{root} is not empty and holds no anon-mini of {n} images; choose another folder")
    final, root = root, root.with_name(f".{root.name}.partial")  # built aside, renamed when complete
    shutil.rmtree(root, ignore_errors=True)
    rng = np.random.default_rng(seed)
    backgrounds = [(name, img) for name, img in background_photos() if name in SCENES]
    cats = [c for c, _ in CONTENT]
    weights = np.asarray([w for _, w in CONTENT], float) / sum(w for _, w in CONTENT)
    rows = []
    for i in range(n):
        base_name, base = backgrounds[int(rng.integers(0, len(backgrounds)))]
        if rng.random() < NOT_PRIVATE_SHARE:
            image, mask, category = add_noise(prepare_background(base, rng, SIZE), rng), None, ""
            cls = _class_of(base_name)
        else:
            category = cats[int(rng.choice(len(cats), p=weights))]
            scene = render_scene(category, base, rng, size=SIZE)
            image, mask = scene.image, scene.union_mask()
            cls = _scene_class(scene.source_group, scene.regions[0].meta, base_name)
        rel = f"{cls}/{i:04d}.png"
        save_image(root / rel, image)
        if mask is not None:
            white = np.repeat(mask[..., None], 3, axis=2).astype(np.uint8) * 255
            save_image(root / ".truth" / f"{cls}/{i:04d}.mask.png", white)
        split = "test" if rng.random() < TEST_SHARE else "train"
        rows.append({"file": rel, "class": cls, "split": split, "private": mask is not None, "category": category})
    with (root / "labels.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["file", "class", "split", "private", "category"])
        writer.writeheader()
        writer.writerows(rows)
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.is_dir():
        final.rmdir()  # empty (checked above)
    root.rename(final)
    return final


def read_labels(root: str | Path) -> list[dict]:
    """labels.csv as dicts (``private`` as bool when the column is there); an empty list when there is none."""
    path = Path(root) / "labels.csv"
    if not path.is_file():
        return []
    with path.open() as fh:
        return [{**r, **({"private": r["private"] == "True"} if "private" in r else {})} for r in csv.DictReader(fh)]
