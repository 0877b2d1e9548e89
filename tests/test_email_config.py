"""Where e-mail goes for each EMAIL_URL, and that the default stays on disk."""

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from westgarden.env import email_config

FOLDER = Path("/srv/westgarden/var/mail")


def test_default_writes_files_into_the_mail_folder(monkeypatch):
    monkeypatch.delenv("EMAIL_URL", raising=False)

    config = email_config("EMAIL_URL", FOLDER)

    assert config["EMAIL_BACKEND"] == "django.core.mail.backends.filebased.EmailBackend"
    assert config["EMAIL_FILE_PATH"] == str(FOLDER)


def test_file_url_names_another_folder(monkeypatch):
    monkeypatch.setenv("EMAIL_URL", "file:///tmp/outbox")

    assert email_config("EMAIL_URL", FOLDER)["EMAIL_FILE_PATH"] == "/tmp/outbox"


def test_smtp_url_sets_host_and_tls(monkeypatch):
    monkeypatch.setenv("EMAIL_URL", "smtp+tls://mailer:secret@mail.example.cn:587")

    config = email_config("EMAIL_URL", FOLDER)

    assert config["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (config["EMAIL_HOST"], config["EMAIL_PORT"]) == ("mail.example.cn", 587)
    assert config["EMAIL_USE_TLS"] is True
    assert "EMAIL_FILE_PATH" not in config


def test_unknown_scheme_names_the_setting(monkeypatch):
    monkeypatch.setenv("EMAIL_URL", "sendmail://")

    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL scheme 'sendmail'"):
        email_config("EMAIL_URL", FOLDER)
