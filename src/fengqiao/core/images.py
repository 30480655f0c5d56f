"""Uploaded photos, decoded and written again by Pillow: a file that only starts like an
image (a polyglot, a truncated or crafted file) is refused, and what is stored holds
pixels and nothing else (no EXIF: no phone model, no GPS trail of the reporter)."""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

from fengqiao.core.errors import Invalid

register_heif_opener()  # iPhones take HEIC; browsers other than Safari cannot show it

# What is accepted, and the format it is stored in.
FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "HEIF": "JPEG"}
MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_PIXELS = 50_000_000  # a 50-megapixel photo; beyond that a decompression bomb


def _refused() -> Invalid:
    return Invalid("只接受 JPEG、PNG、WebP 或 HEIC 图片", "Only JPEG, PNG, WebP or HEIC photos")


def reencode(content: bytes) -> tuple[bytes, str]:
    """(the photo written again, its media type); 422 for anything that is not a whole
    image of an accepted format."""
    # Pillow pads a cut file when this is set, and a library may set it for the whole
    # process on import (WeasyPrint does): a truncated upload must fail, so say it here.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as probe:
                kind = probe.format or ""
                if kind not in FORMATS:
                    raise _refused()
                if probe.width * probe.height > MAX_PIXELS:
                    raise Invalid("图片像素过多", "The photo has too many pixels")
                probe.load()  # every byte decoded: a truncated file fails here
                image = ImageOps.exif_transpose(probe)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _refused() from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Invalid("图片像素过多", "The photo has too many pixels") from exc
    target = FORMATS[kind]
    if target == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    out = io.BytesIO()
    if target == "PNG":
        image.save(out, format=target)
    else:
        image.save(out, format=target, quality=90)
    return out.getvalue(), MEDIA_TYPES[target]
