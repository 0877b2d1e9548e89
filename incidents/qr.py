"""QR codes that open the public report form with a place filled in (扫码上报)."""

import io
from urllib.parse import urlencode

import qrcode
from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from qrcode.constants import ERROR_CORRECT_Q
from qrcode.image.pil import PilImage

# Level Q restores up to 25% of damaged modules, which suits posters that
# hang outdoors. Four modules of quiet zone is the minimum the standard sets.
BOX_PIXELS = 10
QUIET_ZONE_MODULES = 4


def report_url(place_code: str, request: HttpRequest) -> str:
    """Return the absolute address of the report form for ``place_code``.

    WESTGARDEN_PUBLIC_URL (scheme and host, such as https://wg.example.cn)
    wins over the request's own address, so that posters printed from an
    internal host still point at the public one.
    """
    path = reverse("public:report") + "?" + urlencode({"place": place_code})
    base = settings.WESTGARDEN_PUBLIC_URL
    if base:
        return base + path
    return request.build_absolute_uri(path)


def qr_png(data: str) -> bytes:
    """Encode ``data`` as a black-on-white QR code and return it as PNG bytes."""
    code = qrcode.QRCode(
        error_correction=ERROR_CORRECT_Q,
        box_size=BOX_PIXELS,
        border=QUIET_ZONE_MODULES,
    )
    code.add_data(data)
    code.make(fit=True)
    image = code.make_image(image_factory=PilImage)

    output = io.BytesIO()
    image.save(output)
    return output.getvalue()
