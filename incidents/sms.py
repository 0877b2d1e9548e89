"""Pluggable SMS sending. Deployments name their gateway's backend in settings."""

import logging
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from members.models import mask_phone

logger = logging.getLogger(__name__)


class SmsBackend(Protocol):
    def send(self, phone: str, text: str) -> None:
        """Send ``text`` to ``phone``; raise an exception if the gateway refused it."""


class LoggingSmsBackend:
    """Write each message to the log instead of sending it; the default."""

    def send(self, phone: str, text: str) -> None:
        logger.info("sms to=%s chars=%s", mask_phone(phone), len(text))


def get_sms_backend() -> SmsBackend:
    return import_string(settings.WESTGARDEN_SMS_BACKEND)()
