"""POST data of the public report form, for the tests that send it."""

from incidents.forms import new_idempotency_key
from incidents.models import Category, Channel


def report_data(category: Category, **fields: str) -> dict:
    """Return a valid anonymous report of ``category``; ``fields`` replace values."""
    data = {
        "idempotency_key": new_idempotency_key(),
        "via": Channel.PUBLIC_FORM,
        "website": "",
        "category": str(category.pk),
        "place": "",
        "subject": "",
        "description": "楼上每天夜里十二点以后还在装修，电钻声很响。",
        "reporter_name": "李娜",
        "reporter_phone": "",
        "reporter_email": "",
        "hide_name": "on",
    }
    data.update(fields)
    return data
