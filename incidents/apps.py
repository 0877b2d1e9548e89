from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = _("Tickets")

    def ready(self) -> None:
        # Registers the calendar coverage and working-hours checks.
        from incidents import checks  # noqa: F401
