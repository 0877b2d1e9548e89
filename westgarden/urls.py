from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from westgarden import views

urlpatterns = [
    path("", views.home, name="home"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", views.healthz, name="healthz"),
    path("m/login/", views.member_login, name="login"),
    path("m/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("m/", views.mobile_home, name="mobile-home"),
    path("m/", include("incidents.urls_mobile")),
    path("admin/", admin.site.urls),
    path("grids/", include("members.urls")),
    # Public pages for residents: report/, track/ and qr/.
    path("", include("incidents.urls_public")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
