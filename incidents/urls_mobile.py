"""URLs of the grid members' mobile pages, included under ``m/``."""

from django.urls import path

from incidents import views_mobile

app_name = "mobile"

urlpatterns = [
    path("tickets/", views_mobile.inbox, name="inbox"),
    path("tickets/<str:code>/", views_mobile.ticket, name="ticket"),
    path("tickets/<str:code>/accept/", views_mobile.ticket_accept, name="accept"),
    path("tickets/<str:code>/comment/", views_mobile.ticket_comment, name="comment"),
    path("tickets/<str:code>/resolve/", views_mobile.ticket_resolve, name="resolve"),
    path(
        "tickets/<str:code>/send-back/", views_mobile.ticket_send_back, name="send_back"
    ),
    path("tickets/<str:code>/reassign/", views_mobile.ticket_reassign, name="reassign"),
    path(
        "tickets/<str:code>/photos/<int:photo_id>/",
        views_mobile.ticket_photo,
        name="photo",
    ),
    path("report/", views_mobile.report, name="report"),
    path("notifications/", views_mobile.notifications, name="notifications"),
    path(
        "notifications/read/",
        views_mobile.notifications_read,
        name="notifications_read",
    ),
]
