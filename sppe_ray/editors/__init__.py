"""Editors: the black box that edits an image by SPPE instruction code.

Backends: procedural, procedural_b, instruct_pix2pix, http.

Only the protocol and the factory are imported here; backends load lazily through ``create_editor``.
"""

from sppe_ray.editors.base import EDITORS, Editor, EditorError, available_editors, create_editor, register_editor

__all__ = ["EDITORS", "Editor", "EditorError", "available_editors", "create_editor", "register_editor"]
