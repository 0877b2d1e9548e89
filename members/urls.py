"""Addresses of the public grid directory, included under /grids/."""

from django.urls import path, re_path

from members import views

app_name = "directory"

urlpatterns = [
    path("", views.grid_directory, name="index"),
    # The pattern of grids.models.code_validator: an address that cannot be a
    # grid code is a 404 before it reaches the cache or the database.
    re_path(
        r"^(?P<code>[A-Za-z0-9][A-Za-z0-9_.-]{0,39})/$",
        views.grid_detail,
        name="grid",
    ),
]
