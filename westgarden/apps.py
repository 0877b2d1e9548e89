from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WestgardenConfig(AppConfig):
    name = "westgarden"
    verbose_name = _("Westgarden portal")

    def ready(self) -> None:
        # Registers the deployment checks.
        from django.contrib import admin

        from westgarden import checks  # noqa: F401
        from westgarden.forms import AdminLoginForm
        from westgarden.views import rate_limited_login

        admin.site.login_form = AdminLoginForm
        admin.site.login = rate_limited_login(admin.site.login)  # type: ignore[method-assign,assignment]
