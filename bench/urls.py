"""The portal's addresses and the benchmark's reference views under /bench/."""

from django.urls import path

from bench import views
from westgarden.urls import urlpatterns as portal_urlpatterns

urlpatterns = [
    path("bench/one-row/<str:code>/", views.one_row),
    path("bench/one-row-page/<str:code>/", views.one_row_page),
    path("bench/one-row-write/", views.one_row_write),
    *portal_urlpatterns,
]
