"""Deployment checks of the portal's own settings."""

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def check_shared_cache(app_configs, **kwargs) -> list[CheckMessage]:
    """Warn when production counts rate limits in each process's own memory."""
    backend = settings.CACHES["default"]["BACKEND"]
    if settings.DEBUG or not backend.endswith("LocMemCache"):
        return []
    return [
        Warning(
            "CACHE_URL is locmem://, so every web process counts the public rate "
            "limits on its own and a change to the grid directory reaches other "
            "processes only when their cache expires.",
            hint="Set CACHE_URL=redis://host:6379/1 in production.",
            id="westgarden.W002",
        )
    ]
