"""Sources of private images beyond the synthetic renderer: a user's own photos, visual_redactions
annotations, and the published SPPE benchmark folder (imported as a sppe-ray benchmark)."""

from sppe_ray.datasets.framing import Framing, frame_image, frame_mask, plan_framing
from sppe_ray.datasets.images import DEFAULT_CATEGORY, ImageEntry, list_user_images, scene_from_entry
from sppe_ray.datasets.polygons import decode_rle, rasterize_polygons
from sppe_ray.datasets.sppe_layout import SPPERecord, find_edit, import_sppe, read_sppe_folder, sppe_records
from sppe_ray.datasets.vispr import ATTR_ALIASES, EntryList, canonical_category, load_visual_redactions
from sppe_ray.privacy.difference import difference_mask

__all__ = [
    "ATTR_ALIASES", "DEFAULT_CATEGORY", "EntryList", "Framing", "ImageEntry", "SPPERecord", "canonical_category",
    "decode_rle", "rasterize_polygons",
    "difference_mask", "find_edit", "frame_image", "frame_mask", "import_sppe", "list_user_images",
    "load_visual_redactions", "plan_framing", "read_sppe_folder", "scene_from_entry", "sppe_records",
]
