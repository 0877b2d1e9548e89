"""Addresses of the public pages: /report/, /track/ and /qr/."""

from django.urls import path, re_path

from incidents import views_public

app_name = "public"

urlpatterns = [
    path("report/", views_public.report, name="report"),
    path("report/places", views_public.report_places, name="report-places"),
    path("report/done/", views_public.report_done, name="report-done"),
    path("track/", views_public.track, name="track"),
    path("track/<str:code>/", views_public.track_detail, name="track-detail"),
    path("track/<str:code>/info/", views_public.track_add_info, name="track-info"),
    path("track/<str:code>/rate/", views_public.track_rate, name="track-rate"),
    path("track/<str:code>/reopen/", views_public.track_reopen, name="track-reopen"),
    path(
        "track/<str:code>/photos/<int:photo_id>/",
        views_public.track_photo,
        name="track-photo",
    ),
    # Place codes may contain dots, so the .png suffix is matched explicitly.
    re_path(
        r"^qr/(?P<place_code>[A-Za-z0-9][A-Za-z0-9_.-]{0,39})\.png$",
        views_public.qr_image,
        name="qr-image",
    ),
    path("qr/<str:place_code>/poster/", views_public.qr_poster, name="qr-poster"),
]
