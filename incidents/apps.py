from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = _("Tickets")

    def ready(self) -> None:
        # Registers the calendar coverage and working-hours checks.
        from incidents import checks  # noqa: F401
        from incidents.models import Category
        from incidents.queries import clear_public_categories

        def categories_changed(**kwargs: object) -> None:
            clear_public_categories()

        for signal in (post_save, post_delete):
            signal.connect(
                categories_changed,
                sender=Category,
                dispatch_uid=f"incidents-public-categories-{signal is post_save}",
                weak=False,
            )
