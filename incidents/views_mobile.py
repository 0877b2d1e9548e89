"""Phone-sized pages for grid members: inbox, ticket handling, reports, notices.

Every page needs a login, and every ticket is fetched through
``access_incident``, so a ticket outside the member's scope is a 404 on the
page, on each action and on its photos alike. Each action is a POST that
calls one workflow function; the workflow decides what is legal and the
page shows its error on the form. A GET of an action URL only redirects to
the page that the action belongs to, with a warning that nothing was done.
A member whom staff deactivated gets a 403 page explaining this on every page.

The reporter's identity on the ticket page depends on ``hide_name``, which
every public report sets by default. With it set, members see no name and
only the phone number masked as 138****0000. They know that a callback
number exists and ask staff to call. With it off, the reporter agreed to be
contacted, and members see the name and the full number. Lists show neither.
"""

import datetime
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Exists, Prefetch, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from grids.models import Place
from incidents import access
from incidents.actors import Actor
from incidents.forms_mobile import (
    AcceptForm,
    CommentForm,
    ReassignForm,
    ReportForm,
    ResolveForm,
    SendBackForm,
    StateFilterForm,
    add_workflow_error,
    new_form_token,
)
from incidents.models import (
    OPEN_STATES,
    ActorKind,
    Channel,
    Incident,
    IncidentEvent,
    Notification,
    Photo,
    State,
)
from incidents.notifications import inbox_for, mark_read
from incidents.photos import ACCEPTED_FORMATS, prepare_photos
from incidents.workflow import (
    incident_accept,
    incident_comment,
    incident_reassign,
    incident_resolve,
    incident_send_back,
    incident_submit,
)
from members.models import mask_phone

logger = logging.getLogger(__name__)

INBOX_PAGE_SIZE = 20
NOTIFICATION_PAGE_SIZE = 30
SERVED_CONTENT_TYPES = frozenset(ACCEPTED_FORMATS.values())

View = Callable[..., HttpResponseBase]


@dataclass(frozen=True)
class InboxRow:
    incident: Incident
    deadline: datetime.datetime | None
    overdue: bool


@dataclass(frozen=True)
class HistoryEntry:
    event: IncidentEvent
    actor_label: str


def _deadline(incident: Incident) -> datetime.datetime | None:
    """Return the deadline that applies in the ticket's state, or None."""
    if incident.state == State.DISPATCHED:
        return incident.accept_deadline
    if incident.state == State.ACCEPTED:
        return incident.resolve_deadline
    return None


# Access to the pages ------------------------------------------------------------


def no_access_page(request: HttpRequest, *, deactivated: bool) -> HttpResponse:
    """Render the 403 page that explains why the user may not use this page."""
    return render(
        request, "mobile/no_access.html", {"deactivated": deactivated}, status=403
    )


def member_login_required(view: View) -> View:
    """Require a login, and show a deactivated member the no-access page.

    Deactivating a member does not end their sessions, so the check runs on
    every request and not only at sign-in.
    """

    @functools.wraps(view)
    def wrapped(
        request: HttpRequest, *args: object, **kwargs: object
    ) -> HttpResponseBase:
        if access.is_deactivated_member(request.user):
            return no_access_page(request, deactivated=True)
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def redirect_get_to_ticket(not_done: str) -> Callable[[View], View]:
    """Make a GET of a ticket action redirect to the ticket page.

    A member whose session expired taps an action, signs in, and the sign-in
    page then sends them to the action URL with a GET, without the form. The
    GET changes nothing. It shows ``not_done``, a ``gettext_noop`` message
    with ``%(code)s``, on the ticket page, so the member can repeat the
    action. Methods other than GET and POST get 405.
    """

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, code: str) -> HttpResponseBase:
            if request.method != "GET":
                return view(request, code)

            incident = access.access_incident(request.user, code)
            messages.warning(request, _(not_done) % {"code": incident.display_code})
            return redirect("mobile:ticket", code=incident.tracking_code)

        return require_http_methods(["GET", "POST"])(wrapped)

    return decorator


# Inbox ----------------------------------------------------------------------


@member_login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    filters = StateFilterForm(request.GET or None)
    tickets = access.inbox_incidents(request.user)
    now = timezone.now()
    if filters.is_valid():
        state = filters.cleaned_data["state"]
        if state == StateFilterForm.OPEN:
            tickets = tickets.filter(state__in=OPEN_STATES)
        elif state:
            tickets = tickets.filter(state=state)
        if filters.cleaned_data["overdue"]:
            tickets = tickets.filter(access.overdue_condition(now))

    tickets = tickets.select_related("category", "place", "grid").order_by(
        "-created_at", "-pk"
    )
    page = Paginator(tickets, INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        InboxRow(incident, _deadline(incident), access.is_overdue(incident, now))
        for incident in page
    ]
    return render(
        request,
        "mobile/inbox.html",
        {"filters": filters, "page": page, "rows": rows},
    )


# Ticket page ------------------------------------------------------------------


def _reporter(incident: Incident) -> dict[str, str | bool]:
    """Return what a grid member may see of the reporter.

    The name only if the reporter allowed it. The phone number always masked,
    because the report form promises that grid members never see it; staff
    call the reporter back.
    """
    return {
        "name": "" if incident.hide_name else incident.reporter_name,
        "phone": mask_phone(incident.reporter_phone),
        "phone_is_masked": True,
    }


def _actor_label(event: IncidentEvent) -> str:
    """Return who acted, without ever naming a resident."""
    if event.actor_kind == ActorKind.MEMBER and event.actor_user is not None:
        member = getattr(event.actor_user, "member", None)
        return member.name if member is not None else event.actor_user.get_username()
    if event.actor_kind == ActorKind.STAFF and event.actor_user is not None:
        return f"{event.get_actor_kind_display()} {event.actor_user.get_username()}"
    return str(event.get_actor_kind_display())


def _is_handler(request: HttpRequest, incident: Incident) -> bool:
    if request.user.is_staff:
        return True
    member = access.member_of(request.user)
    return member is not None and member.pk == incident.assignee_id


def _ticket_page(
    request: HttpRequest,
    incident: Incident,
    bound: dict[str, forms.Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render the ticket page; ``bound`` replaces the blank form of one action."""
    events = incident.events.select_related("actor_user__member").prefetch_related(
        Prefetch("photos", queryset=Photo.objects.order_by("pk"))
    )
    history = [HistoryEntry(event, _actor_label(event)) for event in events]
    loose_photos = incident.photos.filter(event__isnull=True).order_by("pk")

    may_reassign = incident.state in (
        State.DISPATCHED,
        State.ACCEPTED,
    ) and access.can_reassign(request.user, incident)
    forms_by_action: dict[str, forms.Form] = {
        "accept": AcceptForm(),
        "comment": CommentForm(),
        "resolve": ResolveForm(),
        "send_back": SendBackForm(),
    }
    if may_reassign:
        forms_by_action["reassign"] = ReassignForm(
            choices=access.reassign_choices(request.user)
        )
    forms_by_action.update(bound or {})

    is_handler = _is_handler(request, incident)
    context = {
        "incident": incident,
        "history": history,
        "loose_photos": loose_photos,
        "reporter": _reporter(incident),
        "deadline": _deadline(incident),
        "overdue": access.is_overdue(incident, timezone.now()),
        "forms": forms_by_action,
        "can_accept": is_handler and incident.state == State.DISPATCHED,
        "can_resolve": is_handler and incident.state == State.ACCEPTED,
        "can_send_back": is_handler
        and incident.state in (State.DISPATCHED, State.ACCEPTED),
        "can_reassign": may_reassign,
        "ratings": incident.ratings.order_by("round"),
    }
    return render(request, "mobile/ticket.html", context, status=status)


@member_login_required
@require_GET
def ticket(request: HttpRequest, code: str) -> HttpResponse:
    incident = access.access_incident(request.user, code)
    return _ticket_page(request, incident)


def _run_action(
    request: HttpRequest,
    code: str,
    name: str,
    form: forms.Form,
    call: Callable[[Incident, forms.Form, Actor], object],
    done: str,
) -> HttpResponse:
    """Validate ``form``, run ``call`` through the workflow and redirect back.

    A ValidationError, including TransitionError for an illegal transition,
    renders the ticket page again with the error on the form; the workflow
    has then written nothing.
    """
    incident = access.access_incident(request.user, code)
    actor = Actor.for_user(request.user)
    if form.is_valid():
        try:
            call(incident, form, actor)
        except ValidationError as error:
            add_workflow_error(form, error)
            logger.info("mobile action rejected id=%s action=%s", incident.pk, name)
        else:
            messages.success(request, done % {"code": incident.display_code})
            return redirect("mobile:ticket", code=incident.tracking_code)

    # Re-read the ticket: the form may have raced with another change.
    incident = access.access_incident(request.user, incident.pk)
    return _ticket_page(request, incident, bound={name: form})


def _photos(form: forms.Form) -> list:
    return prepare_photos(form.cleaned_data.get("photos") or [], field="photos")


@member_login_required
@redirect_get_to_ticket(
    gettext_noop(
        "Ticket %(code)s was not accepted because the form did not arrive, "
        "for example after you signed in again. Tap “Accept this ticket” "
        "again if you still want to accept it."
    )
)
def ticket_accept(request: HttpRequest, code: str) -> HttpResponse:
    return _run_action(
        request,
        code,
        "accept",
        AcceptForm(request.POST),
        lambda incident, form, actor: incident_accept(
            incident_id=incident.pk, actor=actor
        ),
        _("Ticket %(code)s accepted."),
    )


@member_login_required
@redirect_get_to_ticket(
    gettext_noop(
        "Your note was not added to ticket %(code)s because the form did "
        "not arrive, for example after you signed in again. Write it again "
        "and tap “Add”."
    )
)
def ticket_comment(request: HttpRequest, code: str) -> HttpResponse:
    def call(incident: Incident, form: forms.Form, actor: Actor) -> object:
        return incident_comment(
            incident_id=incident.pk,
            actor=actor,
            note=form.cleaned_data["note"],
            is_public=form.cleaned_data["visibility"] == CommentForm.PUBLIC,
            photos=_photos(form),
        )

    return _run_action(
        request,
        code,
        "comment",
        CommentForm(request.POST, request.FILES),
        call,
        _("Your note on ticket %(code)s was added."),
    )


@member_login_required
@redirect_get_to_ticket(
    gettext_noop(
        "Ticket %(code)s was not resolved because the form did not arrive, "
        "for example after you signed in again. Write the reply again and "
        "tap “Resolve”."
    )
)
def ticket_resolve(request: HttpRequest, code: str) -> HttpResponse:
    def call(incident: Incident, form: forms.Form, actor: Actor) -> object:
        return incident_resolve(
            incident_id=incident.pk,
            actor=actor,
            reply=form.cleaned_data["reply"],
            photos=_photos(form),
        )

    return _run_action(
        request,
        code,
        "resolve",
        ResolveForm(request.POST, request.FILES),
        call,
        _("Ticket %(code)s resolved; the reporter can now rate the reply."),
    )


@member_login_required
@redirect_get_to_ticket(
    gettext_noop(
        "Ticket %(code)s was not sent back because the form did not arrive, "
        "for example after you signed in again. Give the reason again and "
        "tap “Send back”."
    )
)
def ticket_send_back(request: HttpRequest, code: str) -> HttpResponse:
    return _run_action(
        request,
        code,
        "send_back",
        SendBackForm(request.POST),
        lambda incident, form, actor: incident_send_back(
            incident_id=incident.pk, actor=actor, reason=form.cleaned_data["reason"]
        ),
        _("Ticket %(code)s was sent back to staff for routing."),
    )


@member_login_required
@redirect_get_to_ticket(
    gettext_noop(
        "Ticket %(code)s was not handed over because the form did not "
        "arrive, for example after you signed in again. Choose the member "
        "again and tap “Hand over”."
    )
)
def ticket_reassign(request: HttpRequest, code: str) -> HttpResponse:
    incident = access.access_incident(request.user, code)
    # incident_reassign trusts its caller, so the leader check lives here.
    if not access.can_reassign(request.user, incident):
        raise PermissionDenied

    def call(incident: Incident, form: forms.Form, actor: Actor) -> object:
        assignment = form.cleaned_data["assignment"]
        return incident_reassign(
            incident_id=incident.pk,
            assignee_id=assignment.member_id,
            grid_id=assignment.grid_id,
            actor=actor,
            note=form.cleaned_data["note"],
        )

    return _run_action(
        request,
        code,
        "reassign",
        ReassignForm(request.POST, choices=access.reassign_choices(request.user)),
        call,
        _("Ticket %(code)s was handed over."),
    )


def photo_response(photo: Photo | None) -> FileResponse:
    """Return the photo's file with its stored content type; raise Http404 if unusable.

    The content type comes from the decoded image, never from the upload,
    and the headers stop a browser from sniffing it or running anything in it.
    """
    if photo is None or photo.content_type not in SERVED_CONTENT_TYPES:
        raise Http404("No photo matches the given query.")
    try:
        handle = photo.image.open("rb")
    except FileNotFoundError:
        logger.warning("photo file missing id=%s", photo.pk)
        raise Http404("No photo matches the given query.") from None

    response = FileResponse(handle, content_type=photo.content_type)
    response["Content-Disposition"] = f'inline; filename="{photo.pk}.{photo.extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@member_login_required
@require_GET
def ticket_photo(request: HttpRequest, code: str, photo_id: int) -> FileResponse:
    """Serve one photo of a ticket in the user's scope."""
    incident = access.access_incident(request.user, code)
    return photo_response(Photo.objects.filter(pk=photo_id, incident=incident).first())


# Reporting from a patrol -------------------------------------------------------


def _places_in_scope(request: HttpRequest) -> QuerySet[Place]:
    places = Place.objects.filter(is_active=True).select_related("grid")
    places = places.order_by("grid__tree_id", "grid__lft", "code")
    if request.user.is_staff:
        return places
    member = access.member_of(request.user)
    if member is None:
        return places.none()
    return places.filter(Exists(access.covering_assignments(member, "grid")))


@never_cache
@member_login_required
def report(request: HttpRequest) -> HttpResponse:
    if access.member_of(request.user) is None and not request.user.is_staff:
        return no_access_page(request, deactivated=False)

    places = _places_in_scope(request)
    if request.method != "POST":
        form = ReportForm(initial={"token": new_form_token()}, places=places)
        return render(request, "mobile/report.html", {"form": form})

    form = ReportForm(request.POST, request.FILES, places=places)
    if form.is_valid():
        data = form.cleaned_data
        try:
            incident = incident_submit(
                category_id=data["category"].pk,
                description=data["description"],
                subject=data["subject"],
                place_id=data["place"].pk,
                channel=Channel.MEMBER,
                actor=Actor.for_user(request.user),
                photos=prepare_photos(data["photos"], field="photos"),
                # The key belongs to this user, so nobody else's token can
                # fetch their ticket, and a double tap reports once.
                idempotency_key=f"m{request.user.pk}:{data['token']}",
            )
        except ValidationError as error:
            add_workflow_error(form, error)
        else:
            messages.success(
                request,
                _("Ticket %(code)s was reported.") % {"code": incident.display_code},
            )
            return redirect("mobile:ticket", code=incident.tracking_code)
    return render(request, "mobile/report.html", {"form": form})


# Notifications -----------------------------------------------------------------


@member_login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    """List the user's notices, linking only the tickets the user may open.

    A ticket that escalated or moved to another grid has left the scope of
    members who were notified about it, and its page would be a 404.
    """
    # Newest first, as the model orders notifications.
    notices = cast(QuerySet[Notification], inbox_for(request.user)).annotate(
        may_open=access.visible_incident_exists(request.user, "incident")
    )
    page = Paginator(notices, NOTIFICATION_PAGE_SIZE).get_page(request.GET.get("page"))
    unread_ids = [notice.pk for notice in page if notice.read_at is None]
    return render(
        request,
        "mobile/notifications.html",
        {"page": page, "unread_ids": unread_ids},
    )


@member_login_required
@require_http_methods(["GET", "POST"])
def notifications_read(request: HttpRequest) -> HttpResponse:
    """Mark the posted notifications read; ids of other users' rows change nothing.

    A GET, as the sign-in page sends after an expired session, marks nothing
    and redirects to the list with a warning.
    """
    if request.method == "GET":
        messages.warning(
            request,
            _(
                "No notice was marked as read because the form did not arrive, "
                "for example after you signed in again. Tap “Mark as read” again."
            ),
        )
        return redirect("mobile:notifications")

    # Ids here stay far below 18 digits, and 20 digits would overflow the
    # database's 64-bit integer.
    ids = [
        int(value)
        for value in request.POST.getlist("notification")
        if value.isdigit() and len(value) <= 18
    ]
    count = mark_read(user=request.user, notification_ids=ids) if ids else 0
    if count:
        messages.success(
            request,
            ngettext(
                "Marked %(count)s notice as read.",
                "Marked %(count)s notices as read.",
                count,
            )
            % {"count": count},
        )
    page = request.POST.get("page", "")
    url = redirect("mobile:notifications").url
    return redirect(f"{url}?page={page}" if page.isdigit() else url)
