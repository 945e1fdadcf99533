"""Reference HTTP server wrapping any Editor: the counterpart of ``http_client.HTTPEditor``.

Run: ``python -m sppe_ray.editors.http_server --editor procedural --port 8900``. Bad images and unknown codes
get 4xx JSON errors (``{"detail": ...}``) so a client never retries what cannot succeed.
"""

from __future__ import annotations

import argparse
import base64
import binascii

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sppe_ray.editors.base import Editor, create_editor
from sppe_ray.errors import ImageError, UnknownInstructionError
from sppe_ray.imageio import decode_image, encode_png

MAX_UPLOAD_PIXELS = 16_000_000


class EditRequest(BaseModel):
    image_png_b64: str = Field(..., description="the image to edit, PNG (or JPEG/WebP) bytes in base64")
    instruction_code: str = Field(..., description="SPPE instruction code, 001..065")
    seed: int = 0


def create_app(editor: Editor) -> FastAPI:
    """A FastAPI app with POST /edit and GET /health around ``editor``."""
    app = FastAPI(title="sppe-ray editor", version=getattr(editor, "version", "?"))

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "editor": editor.name, "version": editor.version}

    @app.post("/edit")
    async def edit(req: EditRequest):
        try:
            data = base64.b64decode(req.image_png_b64, validate=True)
        except (binascii.Error, ValueError):
            return JSONResponse({"detail": "image_png_b64 is not valid base64"}, status_code=400)
        try:
            image = decode_image(data, max_pixels=MAX_UPLOAD_PIXELS)
            out = await run_in_threadpool(editor.edit, image, req.instruction_code, req.seed)
        except ImageError as exc:
            return JSONResponse({"detail": f"bad image: {exc}"}, status_code=422)
        except UnknownInstructionError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=422)
        except ValueError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=400)
        return {"image_png_b64": base64.b64encode(encode_png(out)).decode("ascii"), "editor": editor.name,
                "version": editor.version}

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve an sppe-ray editor over HTTP.")
    parser.add_argument("--editor", default="procedural")
    parser.add_argument("--model", default=None, help="weights for instruct_pix2pix")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    args = parser.parse_args(argv)
    import uvicorn

    uvicorn.run(create_app(create_editor(args.editor, model=args.model)), host=args.host, port=args.port,
                log_level="info")


if __name__ == "__main__":
    main()
