"""Public pages for residents, without login: report, track, rate, QR posters.

Every write goes through one function of incidents.workflow. The pages
never show the reporter's name, phone number or e-mail address, and show a
grid member only as the grid's name and a masked phone number.

Abuse protection: CSRF on every form, and a honeypot field and an
idempotency key on the report form. Two rate limits per client IP come from
django-ratelimit. WESTGARDEN_REPORT_RATE counts report, information, rating
and reopen POSTs. WESTGARDEN_TRACK_RATE counts lookups through the tracking
form and every request whose tracking code finds nothing.
"""

import functools
import logging
from collections.abc import Callable
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    QueryDict,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from django_ratelimit.core import get_usage

from incidents.actors import Actor
from incidents.forms import (
    PublicInfoForm,
    PublicRatingForm,
    PublicReopenForm,
    PublicReportForm,
    TrackingLookupForm,
    new_idempotency_key,
)
from incidents.forms_mobile import add_workflow_error
from incidents.models import (
    OPEN_STATES,
    Channel,
    Incident,
    RatingValue,
    State,
    format_tracking_code,
)
from incidents.qr import qr_png, report_url
from incidents.queries import (
    incident_for_tracking,
    mask_mobile_numbers,
    original_events,
    place_by_code,
    public_photo,
    public_timeline,
    search_places,
    submitted_incident,
    tracking_code_exists,
)
from incidents.workflow import (
    incident_add_info,
    incident_rate,
    incident_reopen,
    incident_submit,
)
from westgarden.views import rate_limited_page

logger = logging.getLogger(__name__)

# A signed cookie remembers the last report of this browser for the
# confirmation page, so the tracking code never appears in a URL before the
# resident has seen it. The signature keeps anyone from reading another
# report's code by changing the id, and unlike the session the cookie costs
# no database write.
LAST_REPORT_COOKIE = "last_report"
LAST_REPORT_SALT = "incidents.views_public.report_done"
LAST_REPORT_MAX_AGE = 60 * 60
WRITE_GROUP = "public-write"
LOOKUP_GROUP = "public-lookup"
STEPS = (
    State.SUBMITTED,
    State.DISPATCHED,
    State.ACCEPTED,
    State.RESOLVED,
    State.CLOSED,
)


# Rate limits ------------------------------------------------------------------


def _unlogged(response: HttpResponse) -> HttpResponse:
    # django.request logs every 4xx response with its path, and the paths of
    # the tracking pages carry a tracking code. Django's log_response skips a
    # response that it has marked as logged already (Django 5.2).
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _usage(request: HttpRequest, group: str, rate: str, *, increment: bool) -> dict:
    # get_usage returns None when RATELIMIT_ENABLE is off.
    usage = get_usage(request, group=group, key="ip", rate=rate, increment=increment)
    return usage or {"count": 0, "limit": 1, "should_limit": False, "time_left": 0}


def _too_many_requests(request: HttpRequest, group: str, usage: dict) -> HttpResponse:
    logger.info("public rate limit reached group=%s", group)
    return _unlogged(rate_limited_page(request, max(int(usage["time_left"]), 1)))


def _count_write(request: HttpRequest) -> HttpResponse | None:
    """Count one resident write; return the 429 page once the IP is over the limit."""
    usage = _usage(
        request, WRITE_GROUP, settings.WESTGARDEN_REPORT_RATE, increment=True
    )
    if usage["should_limit"]:
        return _too_many_requests(request, WRITE_GROUP, usage)
    return None


def _count_lookup(request: HttpRequest) -> HttpResponse | None:
    """Count one tracking-code lookup; return the 429 page once over the limit."""
    usage = _usage(
        request, LOOKUP_GROUP, settings.WESTGARDEN_TRACK_RATE, increment=True
    )
    if usage["should_limit"]:
        return _too_many_requests(request, LOOKUP_GROUP, usage)
    return None


def _lookups_used_up(request: HttpRequest) -> HttpResponse | None:
    """Return the 429 page if the IP has no lookups left, without counting one.

    Pages of an existing ticket count nothing, but they return 429 like any
    other code once the limit is reached, so that the response never tells a
    guessed code apart from a real one.
    """
    usage = _usage(
        request, LOOKUP_GROUP, settings.WESTGARDEN_TRACK_RATE, increment=False
    )
    if usage["count"] >= usage["limit"]:
        return _too_many_requests(request, LOOKUP_GROUP, usage)
    return None


# Report ---------------------------------------------------------------------------


def _blank_report_form(request: HttpRequest) -> tuple[PublicReportForm, str]:
    """Return an unbound report form and the unknown place code of a QR link, if any.

    ``?place=<code>`` is what QR posters link to: it fills in the place and
    records the report as coming from a QR code.
    """
    initial = {"idempotency_key": new_idempotency_key(), "via": Channel.PUBLIC_FORM}
    missing_place = ""
    code = request.GET.get("place", "").strip()[:40]
    if code:
        initial["via"] = Channel.QR_CODE
        place = place_by_code(code)
        if place is None:
            missing_place = code
        else:
            initial["place"] = place.code
    return PublicReportForm(initial=initial), missing_place


def _render_report(
    request: HttpRequest, form: PublicReportForm, missing_place: str = ""
) -> HttpResponse:
    if form.is_bound:
        place = form.chosen_place
    else:
        place = place_by_code(form.initial.get("place", ""))
    context = {"form": form, "chosen_place": place, "missing_place": missing_place}
    return render(request, "public/report.html", context)


def _renew_expired_key(form: PublicReportForm) -> None:
    # A missing or malformed key would be sent back as it is; give the
    # resident a valid one for the next attempt.
    if "idempotency_key" in form.errors:
        data = cast(QueryDict, form.data).copy()
        data[form.add_prefix("idempotency_key")] = new_idempotency_key()
        form.data = data


def _without_honeypot(data: QueryDict) -> QueryDict:
    data = data.copy()
    data[PublicReportForm.HONEYPOT_FIELD] = ""
    return data


@never_cache
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        form, missing_place = _blank_report_form(request)
        return _render_report(request, form, missing_place)

    limited = _count_write(request)
    if limited is not None:
        return limited

    form = PublicReportForm(request.POST, request.FILES)
    if form.honeypot_filled:
        # Only programs fill the hidden field. The form comes back with a
        # generic error that does not say why, and nothing is written.
        logger.warning("public report rejected: honeypot field filled")
        form = PublicReportForm(_without_honeypot(request.POST))
        form.add_error(
            None, _("Your report could not be sent. Check it and send it again.")
        )
        return _render_report(request, form)

    if form.is_valid():
        try:
            incident = incident_submit(actor=Actor.resident(), **form.submission())
        except ValidationError as error:
            add_workflow_error(form, error)
        else:
            response = redirect("public:report-done")
            response.set_signed_cookie(
                LAST_REPORT_COOKIE,
                str(incident.pk),
                salt=LAST_REPORT_SALT,
                max_age=LAST_REPORT_MAX_AGE,
                path=reverse("public:report-done"),
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
            return response

    _renew_expired_key(form)
    return _render_report(request, form)


@require_GET
def report_places(request: HttpRequest) -> JsonResponse:
    """Return up to 20 active places matching ``?q=`` as JSON: code, name, grid."""
    text = request.GET.get("q", "")[:100]
    return JsonResponse({"results": search_places(text)})


@never_cache
@require_GET
def report_done(request: HttpRequest) -> HttpResponse:
    value = request.get_signed_cookie(
        LAST_REPORT_COOKIE,
        default="",
        salt=LAST_REPORT_SALT,
        max_age=LAST_REPORT_MAX_AGE,
    )
    incident = submitted_incident(int(value)) if value and value.isdigit() else None
    if incident is None:
        return redirect("public:track")

    code = incident.display_code
    context = {
        "code": code,
        "code_groups": code.split("-"),
        "has_email": bool(incident.reporter_email),
    }
    return render(request, "public/report_done.html", context)


# Tracking ---------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def track(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render(request, "public/track.html", {"form": TrackingLookupForm()})

    limited = _count_lookup(request)
    if limited is not None:
        return limited

    form = TrackingLookupForm(request.POST)
    if form.is_valid():
        code = form.cleaned_data["code"]
        if tracking_code_exists(code):
            return redirect("public:track-detail", code=format_tracking_code(code))
        form.add_error(
            "code",
            _("No ticket has the code %(value)s.")
            % {"value": format_tracking_code(code)},
        )
    return render(request, "public/track.html", {"form": form})


def _code_not_found(request: HttpRequest, code: str) -> HttpResponse:
    limited = _count_lookup(request)
    if limited is not None:
        return limited

    form = TrackingLookupForm(initial={"code": code[:40]})
    context = {"form": form, "not_found": code[:40]}
    return _unlogged(render(request, "public/track.html", context, status=404))


def _find_ticket(request: HttpRequest, code: str) -> Incident | HttpResponse:
    """Return the ticket with this code, or the 429 or 404 page to send instead."""
    used_up = _lookups_used_up(request)
    if used_up is not None:
        return used_up
    incident = incident_for_tracking(code)
    if incident is None:
        return _code_not_found(request, code)
    return incident


@functools.lru_cache(maxsize=16)
def _blank_fields(form_class: type[Form], language: str | None) -> SafeString:
    """Return the fields of a blank action form as HTML, rendered once per language.

    A blank form renders the same for every ticket; only the CSRF token and
    the form's address differ, and both lie outside the fields.
    """
    # Django escapes what it renders into the field groups.
    return mark_safe(
        "".join(
            f'<div class="field">{field.as_field_group()}</div>'
            for field in form_class()
        )
    )


def _ticket_page(
    request: HttpRequest,
    incident: Incident,
    bound: dict[str, Any] | None = None,
) -> HttpResponse:
    """Render the ticket page; ``bound`` replaces the blank form of one action."""
    timeline = public_timeline(incident)
    forms: dict[str, Form] = {
        "info": PublicInfoForm(),
        "rating": PublicRatingForm(),
        "reopen": PublicReopenForm(),
    }
    forms.update(bound or {})
    language = translation.get_language()
    blank_fields = {
        name: _blank_fields(type(form), language)
        for name, form in forms.items()
        if not form.is_bound
    }

    state = incident.state
    assignee = incident.assignee
    shows_handler = assignee is not None and (
        state in OPEN_STATES or state == State.RESOLVED
    )
    # Set by incident_for_tracking: the rating of the current round, or None.
    round_rating = getattr(incident, "round_rating", None)
    context = {
        "incident": incident,
        "code": incident.display_code,
        "description": mask_mobile_numbers(incident.description),
        "show_subject": not incident.subject_repeats_description,
        "reply": mask_mobile_numbers(incident.reply),
        "show_reply": bool(incident.reply) and state in (State.RESOLVED, State.CLOSED),
        "reject_reason": mask_mobile_numbers(incident.reject_reason),
        "events": timeline.events,
        "loose_photos": timeline.loose_photos,
        "steps": _steps(state),
        "handler_phone": assignee.masked_phone if assignee and shows_handler else "",
        "forms": forms,
        "blank_fields": blank_fields,
        "can_add_info": state in OPEN_STATES or state == State.RESOLVED,
        "can_rate": state == State.RESOLVED and round_rating is None,
        "can_reopen": state == State.RESOLVED
        and round_rating == RatingValue.DISSATISFIED,
        "original": _original_progress(incident) if state == State.DUPLICATE else None,
        # Sent back, escalated past the total grid or taken from an inactive
        # member: the state reads "submitted" again, and the history shows no
        # public reason, so the page shows a notice instead.
        "passed_on": state == State.SUBMITTED and incident.dispatched_at is not None,
    }
    return render(request, "public/ticket.html", context)


def _original_progress(incident: Incident) -> dict[str, Any] | None:
    """Return what a duplicate's page shows of its original: state and reply.

    The original's code stays hidden, because any holder of a code may add to
    that ticket, rate it and reopen it, which only its own reporter should do.
    """
    original = incident.duplicate_of
    if original is None:
        return None
    answered = original.state in (State.RESOLVED, State.CLOSED)
    return {
        "state": original.state,
        "state_label": original.get_state_display(),
        "steps": _steps(original.state),
        "reply": mask_mobile_numbers(original.reply) if answered else "",
        "events": original_events(incident),
    }


def _steps(state: str) -> list[dict[str, Any]]:
    """Return the main states in order, marking those reached and the current one."""
    if state not in STEPS:
        return []
    reached = STEPS.index(state)
    return [
        {"label": State(step).label, "done": index <= reached, "current": step == state}
        for index, step in enumerate(STEPS)
    ]


@never_cache
@require_GET
def track_detail(request: HttpRequest, code: str) -> HttpResponse:
    found = _find_ticket(request, code)
    if isinstance(found, HttpResponse):
        return found
    if code != found.display_code:
        return redirect("public:track-detail", code=found.display_code)
    return _ticket_page(request, found)


def _run_action(
    request: HttpRequest, code: str, name: str, form: Any, call: Any, done: str
) -> HttpResponse:
    """Check the limits, validate ``form``, call the workflow and redirect back.

    A ValidationError, including TransitionError, renders the ticket page
    again with the error on the form; the workflow has written nothing.
    """
    found = _find_ticket(request, code)
    if isinstance(found, HttpResponse):
        return found
    limited = _count_write(request)
    if limited is not None:
        return limited

    if form.is_valid():
        try:
            call(found, form)
        except ValidationError as error:
            add_workflow_error(form, error)
            logger.info("public action rejected id=%s action=%s", found.pk, name)
        else:
            messages.success(request, done)
            return redirect("public:track-detail", code=found.display_code)

    # Read the ticket again: it may have changed while the form was checked.
    incident = incident_for_tracking(found.tracking_code)
    return _ticket_page(request, incident or found, bound={name: form})


def _post_or_ticket_page(
    view: Callable[[HttpRequest, str], HttpResponse],
) -> Callable[[HttpRequest, str], HttpResponse]:
    """Let a GET of an action URL lead to the ticket page instead of a 405.

    After a form error the browser shows the action URL, and switching the
    language there, or reloading, sends a GET to it.
    """

    @functools.wraps(view)
    def wrapped(request: HttpRequest, code: str) -> HttpResponse:
        if request.method == "GET":
            return redirect("public:track-detail", code=code)
        return view(request, code)

    return require_http_methods(["GET", "POST"])(wrapped)


@never_cache
@_post_or_ticket_page
def track_add_info(request: HttpRequest, code: str) -> HttpResponse:
    return _run_action(
        request,
        code,
        "info",
        PublicInfoForm(request.POST, request.FILES),
        lambda incident, form: incident_add_info(
            incident_id=incident.pk,
            note=form.cleaned_data["note"],
            photos=form.prepared_photos,
        ),
        _("Your information was added to the ticket."),
    )


@never_cache
@_post_or_ticket_page
def track_rate(request: HttpRequest, code: str) -> HttpResponse:
    return _run_action(
        request,
        code,
        "rating",
        PublicRatingForm(request.POST),
        lambda incident, form: incident_rate(
            incident_id=incident.pk,
            value=form.cleaned_data["value"],
            comment=form.cleaned_data["comment"],
        ),
        _("Thank you for your rating."),
    )


@never_cache
@_post_or_ticket_page
def track_reopen(request: HttpRequest, code: str) -> HttpResponse:
    return _run_action(
        request,
        code,
        "reopen",
        PublicReopenForm(request.POST),
        lambda incident, form: incident_reopen(
            incident_id=incident.pk, note=form.cleaned_data["note"]
        ),
        _("The ticket was reopened and is being handled again."),
    )


@require_GET
def track_photo(request: HttpRequest, code: str, photo_id: int) -> HttpResponseBase:
    """Serve a public photo of the ticket with this tracking code.

    The photo's id alone is not enough: it must belong to the ticket that the
    code finds and be public. Every 404 here counts as a failed lookup.
    """
    used_up = _lookups_used_up(request)
    if used_up is not None:
        return used_up
    photo = public_photo(code, photo_id)
    if photo is None:
        return _count_lookup(request) or _unlogged(HttpResponse(status=404))

    try:
        handle = photo.image.open("rb")
    except FileNotFoundError:
        logger.warning("public photo file missing id=%s", photo.pk)
        return _unlogged(HttpResponse(status=404))

    response = FileResponse(handle, content_type=photo.content_type)
    response["Content-Disposition"] = f'inline; filename="{photo.pk}.{photo.extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response


# QR codes -----------------------------------------------------------------------------


def _active_place(code: str) -> Any:
    place = place_by_code(code)
    if place is None:
        raise Http404("No active place has this code.")
    return place


@require_GET
def qr_image(request: HttpRequest, place_code: str) -> HttpResponse:
    """Return a PNG QR code of the report form's address for this place."""
    place = _active_place(place_code)
    response = HttpResponse(
        qr_png(report_url(place.code, request)), content_type="image/png"
    )
    response["Content-Disposition"] = f'inline; filename="qr-{place.code}.png"'
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_GET
def qr_poster(request: HttpRequest, place_code: str) -> HttpResponse:
    """Return the A4 poster of a place, in the site's default language."""
    place = _active_place(place_code)
    with translation.override(settings.LANGUAGE_CODE):
        return render(
            request,
            "public/qr_poster.html",
            {"place": place, "report_url": report_url(place.code, request)},
        )
