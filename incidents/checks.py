"""System checks of the working-time calendar, run by manage.py check.

Importing this module registers them; IncidentsConfig.ready() imports it.
"""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from incidents.calendar import (
    missing_calendar_message,
    package_coverage,
    working_hours,
)


def _skips_incidents(app_configs: Sequence[AppConfig] | None) -> bool:
    return app_configs is not None and all(
        config.label != "incidents" for config in app_configs
    )


@checks.register()
def check_working_hours(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Report an invalid WESTGARDEN_WORKING_HOURS as an error."""
    if _skips_incidents(app_configs):
        return []

    try:
        working_hours()
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="westgarden.E001")]
    return []


@checks.register()
def check_calendar_years(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Warn when this year or the next has no holidays or make-up working days.

    The check reads the database although it is not tagged as a database
    check, because Django runs those only with --database, and staff should
    see this warning from a plain manage.py check.
    """
    if _skips_incidents(app_configs):
        return []

    try:
        message = missing_calendar_message()
    except DatabaseError:
        # No table yet, as before the first migrate, or no database server:
        # the migrate command and the connection report those themselves.
        return []
    if message is None:
        return []
    return [
        checks.Warning(
            message,
            hint=(
                "manage.py sync_calendar --years YEAR fills a year that the "
                f"installed {package_coverage()} covers; for a later year, "
                "upgrade the package once the State Council has published the "
                "year's holidays."
            ),
            id="westgarden.W001",
        )
    ]
