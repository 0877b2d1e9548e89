"""Server-side decoding and re-encoding of uploaded photos.

A photo is decoded by Pillow, rotated upright from its EXIF orientation,
shrunk to a maximum edge and encoded again, which drops EXIF, GPS, XMP and
every other piece of metadata, and any bytes that are not pixels.
"""

import io
import logging
import warnings
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

logger = logging.getLogger(__name__)

# MPO is a JPEG with extra frames, as many phone cameras write; its first
# frame is the photo.
ACCEPTED_FORMATS = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
}
MAX_PHOTOS = 4


@dataclass(frozen=True)
class PreparedPhoto:
    content: bytes
    content_type: str
    width: int
    height: int


def _limits() -> tuple[int, int, int]:
    return (
        settings.WESTGARDEN_PHOTO_MAX_BYTES,
        settings.WESTGARDEN_PHOTO_MAX_PIXELS,
        settings.WESTGARDEN_PHOTO_MAX_EDGE,
    )


def prepare_photo(
    upload: IO[bytes], *, field: str = "photos", name: str = ""
) -> PreparedPhoto:
    """Decode, check and re-encode one upload.

    Raise ValidationError naming ``field`` for anything that is not a usable image.
    """
    max_bytes, max_pixels, max_edge = _limits()
    label = name or _("the photo")

    raw = upload.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ValidationError(
            {
                field: _("%(name)s is larger than %(limit)s MB.")
                % {"name": label, "limit": max_bytes // (1024 * 1024)}
            }
        )

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw))
            if image.format not in ACCEPTED_FORMATS:
                raise ValidationError(
                    {
                        field: _("%(name)s is not a JPEG, PNG or WebP image.")
                        % {"name": label}
                    }
                )
            if image.width * image.height > max_pixels:
                raise ValidationError(
                    {
                        field: _("%(name)s has more than %(limit)s million pixels.")
                        % {"name": label, "limit": max_pixels // 1_000_000}
                    }
                )
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(
            {
                field: _("%(name)s has more than %(limit)s million pixels.")
                % {"name": label, "limit": max_pixels // 1_000_000}
            }
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationError(
            {
                field: _("%(name)s could not be read as a JPEG, PNG or WebP image.")
                % {"name": label}
            }
        ) from None

    source_format = image.format
    upright: Image.Image = ImageOps.exif_transpose(image)
    upright.thumbnail((max_edge, max_edge))
    return _encode(upright, source_format)


def _encode(image: Image.Image, source_format: str) -> PreparedPhoto:
    # PNG stays PNG to keep screenshots sharp; photos become JPEG.
    output = io.BytesIO()
    # Pillow writes what is left in ``info`` back into the file, such as a
    # JPEG comment; of it, only a palette's transparency is image data.
    image.info = {k: v for k, v in image.info.items() if k == "transparency"}
    if source_format == "PNG":
        if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            image = image.convert("RGBA")
        image.save(output, format="PNG", optimize=True)
        content_type = "image/png"
    else:
        if image.mode != "RGB":
            image = image.convert("RGB")
        image.save(output, format="JPEG", quality=85, optimize=True)
        content_type = "image/jpeg"
    return PreparedPhoto(
        content=output.getvalue(),
        content_type=content_type,
        width=image.width,
        height=image.height,
    )


def prepare_photos(uploads: list, *, field: str = "photos") -> list[PreparedPhoto]:
    """Prepare up to MAX_PHOTOS uploads; raise ValidationError on the first bad one."""
    if len(uploads) > MAX_PHOTOS:
        raise ValidationError(
            {
                field: _("Attach at most %(limit)s photos; %(count)s were sent.")
                % {"limit": MAX_PHOTOS, "count": len(uploads)}
            }
        )
    return [
        prepare_photo(upload, field=field, name=getattr(upload, "name", "") or "")
        for upload in uploads
    ]
