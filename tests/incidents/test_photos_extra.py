"""Photo formats that phones produce and images too large to decode."""

import io

import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from incidents.models import normalize_tracking_code
from incidents.photos import prepare_photo
from incidents.queries import mask_mobile_numbers


def test_mpo_photo_accepted_as_jpeg():
    first = Image.new("RGB", (64, 48), "red")
    second = Image.new("RGB", (64, 48), "blue")
    data = io.BytesIO()
    first.save(data, format="MPO", save_all=True, append_images=[second])
    data.seek(0)

    prepared = prepare_photo(data, name="camera.jpg")

    assert prepared.content_type == "image/jpeg"
    assert (prepared.width, prepared.height) == (64, 48)


def test_jpeg_comment_is_dropped():
    data = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(
        data, format="JPEG", comment=b"owner: Li Na 13812345678"
    )
    assert b"Li Na" in data.getvalue()
    data.seek(0)

    prepared = prepare_photo(data, name="camera.jpg")

    assert b"Li Na" not in prepared.content
    assert "comment" not in Image.open(io.BytesIO(prepared.content)).info


def test_palette_png_keeps_its_transparency():
    image = Image.new("P", (8, 8), 0)
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    data = io.BytesIO()
    image.save(data, format="PNG", transparency=0)
    data.seek(0)

    prepared = prepare_photo(data, name="icon.png")

    assert Image.open(io.BytesIO(prepared.content)).info.get("transparency") == 0


def test_decompression_bomb_names_pixel_limit():
    data = io.BytesIO()
    Image.new("1", (20000, 20000)).save(data, format="PNG")
    data.seek(0)

    with pytest.raises(ValidationError) as caught:
        prepare_photo(data, name="bomb.png")
    message = caught.value.message_dict["photos"][0]
    assert "bomb.png" in message
    assert "40" in message


@pytest.mark.parametrize(
    "typed",
    ["ＦＸ５ＤＭ－ＡＹＰ７Ｎ", "FX５DMAYP7N", "fx5dm ayp7n", "FX5DM—AYP7N"],
)
def test_tracking_code_typed_on_phone_keyboards(typed):
    assert normalize_tracking_code(typed) == "FX5DMAYP7N"


def test_public_text_masks_email_addresses():
    masked = mask_mobile_numbers("联系 li.si@example.com 或 13812345678")

    assert "li.si" not in masked
    assert "***@example.com" in masked
    assert "138****5678" in masked


@pytest.mark.parametrize(
    "written",
    [
        "+8613800138000",
        "0086 138 0013 8000",
        "8613800138000",
        "138.0013.8000",
        "１３８００１３８０００",
        "＋８６ １３８－００１３－８０００",
        "１３８　００１３　８０００",
        "138–0013–8000",
        "138 - 0013 - 8000",
        "138_0013_8000",
        "138/0013/8000",
        "(138)00138000",
        "（138）0013-8000",
    ],
)
def test_public_text_masks_phone_spellings(written):
    masked = mask_mobile_numbers(f"电话 {written} 联系")

    assert "0013" not in masked
    assert "００１３" not in masked
    assert "****" in masked


def test_tracking_lookup_accepts_full_width_code(client, db):
    response = client.post(
        "/track/", {"code": "ＦＸ５ＤＭ－ＡＹＰ７Ｎ"}, HTTP_ACCEPT_LANGUAGE="en"
    )

    # Read as a well-formed code that no ticket has.
    errors = response.context["form"].errors["code"]
    assert errors == ["No ticket has the code FX5DM-AYP7N."]
