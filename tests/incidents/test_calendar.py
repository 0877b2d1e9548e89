"""Working-time deadlines by the Chinese calendar, and filling the calendar table.

Holiday facts below are those of chinesecalendar 1.11.0:
- National Day 2025: Wed 10-01 to Wed 10-08 off (10-06 is 中秋), worked
  Sun 09-28 and Sat 10-11.
- National Day 2026: Thu 10-01 to Wed 10-07 off, worked Sun 09-20 and
  Sat 10-10.
- Spring Festival 2026: Mon 02-16 to Mon 02-23 off, Tue 02-24 is the first
  working day after it.
"""

import datetime
import io
import logging
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from incidents import calendar
from incidents.calendar import (
    MAKEUP_WORKDAY_NAME,
    SOURCE_PACKAGE,
    SOURCE_STAFF,
    NoWorkingDayError,
    WorkingCalendar,
    add_working_time,
    calendar_sync,
    deadline_after,
    is_workday,
    missing_calendar_message,
    missing_calendar_years,
    parse_working_hours,
)
from incidents.checks import check_calendar_years, check_working_hours
from incidents.models import CalendarDay, TimeBasis

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = datetime.UTC
# Session, user, missing-year banner, year filter, source filter, two counts
# and the page of rows.
NUM_ADMIN_LIST_QUERIES = 8


def local(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def forget_reached_years(monkeypatch):
    # The log warning is once per process; each test starts with none logged.
    monkeypatch.setattr(calendar, "_years_reached_without_entries", set())


@pytest.fixture
def synced(db):
    calendar_sync(years=[2025, 2026])


@pytest.fixture
def office_admin(django_user_model):
    return django_user_model.objects.create_superuser(
        username="office_admin", password="pw-office-admin", email=""
    )


# Working days


def test_is_workday_follows_package_rows(synced):
    assert is_workday(datetime.date(2025, 9, 28)) is True  # Sunday, worked
    assert is_workday(datetime.date(2025, 10, 11)) is True  # Saturday, worked
    assert is_workday(datetime.date(2025, 10, 8)) is False  # Wednesday, holiday
    assert is_workday(datetime.date(2025, 10, 4)) is False  # plain Saturday
    assert is_workday(datetime.date(2025, 10, 9)) is True  # plain Thursday


def test_is_workday_without_rows_is_monday_to_friday(db):
    assert is_workday(datetime.date(2030, 10, 1)) is True  # Tuesday
    assert is_workday(datetime.date(2030, 10, 5)) is False  # Saturday


# Working-time deadlines


def test_deadline_across_weekend(synced):
    friday = local(2026, 3, 6, 16, 30)
    assert add_working_time(friday, 120) == local(2026, 3, 9, 9, 30)


def test_deadline_across_national_day_2025(synced):
    start = local(2025, 9, 30, 16, 30)
    assert add_working_time(start, 120) == local(2025, 10, 9, 9, 30)


def test_deadline_across_national_day_2026(synced):
    start = local(2026, 9, 30, 17, 0)
    assert add_working_time(start, 60) == local(2026, 10, 8, 9, 0)


def test_deadline_on_makeup_saturday(synced):
    friday = local(2025, 10, 10, 17, 0)
    assert add_working_time(friday, 60) == local(2025, 10, 11, 9, 0)


def test_deadline_on_makeup_sunday(synced):
    saturday = local(2025, 9, 27, 10, 0)
    assert add_working_time(saturday, 30) == local(2025, 9, 28, 9, 0)


def test_deadline_started_on_makeup_saturday(synced):
    start = local(2026, 10, 10, 9, 0)
    assert add_working_time(start, 30) == local(2026, 10, 10, 9, 30)


def test_deadline_started_in_holiday(synced):
    start = local(2026, 2, 18, 12, 0)  # Spring Festival
    assert add_working_time(start, 60) == local(2026, 2, 24, 9, 30)


def test_deadline_on_first_working_day_after_holiday(synced):
    start = local(2025, 10, 9, 8, 0)
    assert add_working_time(start, 240) == local(2025, 10, 9, 14, 0)


def test_deadline_early_morning_counts_local_date(synced):
    start = datetime.datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # 03-03 01:00 local
    deadline = add_working_time(start, 30)
    assert deadline == local(2026, 3, 3, 9, 0)
    assert deadline.tzinfo == SHANGHAI


def test_deadline_utc_evening_before_holiday_counts_holiday(synced):
    # 2025-09-30 17:00 UTC is a working afternoon in UTC terms, but it is
    # 01:00 on National Day in Shanghai.
    start = datetime.datetime(2025, 9, 30, 17, 0, tzinfo=UTC)
    assert add_working_time(start, 30) == local(2025, 10, 9, 9, 0)


def test_deadline_started_in_lunch_break(synced):
    assert add_working_time(local(2026, 3, 3, 12, 15), 30) == local(2026, 3, 3, 14, 0)


def test_deadline_spans_lunch_break(synced):
    assert add_working_time(local(2026, 3, 3, 11, 45), 30) == local(2026, 3, 3, 13, 45)


def test_deadline_ending_with_period_is_period_end(synced):
    assert add_working_time(local(2026, 3, 3, 11, 30), 30) == local(2026, 3, 3, 12, 0)
    assert add_working_time(local(2026, 3, 3, 17, 0), 30) == local(2026, 3, 3, 17, 30)


def test_deadline_started_after_hours(synced):
    assert add_working_time(local(2026, 3, 3, 18, 0), 30) == local(2026, 3, 4, 9, 0)


def test_deadline_started_friday_after_hours(synced):
    assert add_working_time(local(2026, 3, 6, 19, 0), 30) == local(2026, 3, 9, 9, 0)


def test_deadline_zero_minutes_is_next_working_moment(synced):
    assert add_working_time(local(2026, 3, 3, 12, 15), 0) == local(2026, 3, 3, 13, 30)
    assert add_working_time(local(2026, 3, 3, 10, 0), 0) == local(2026, 3, 3, 10, 0)


def test_deadline_of_several_working_days(synced):
    # 3 working days of 7.5 hours from Monday 08:30 end on Wednesday 17:30.
    start = local(2026, 3, 2, 8, 30)
    assert add_working_time(start, 3 * 450) == local(2026, 3, 4, 17, 30)


def test_deadline_uses_configured_working_hours(synced, settings):
    settings.WESTGARDEN_WORKING_HOURS = "09:00-17:00"
    assert add_working_time(local(2026, 3, 3, 16, 0), 120) == local(2026, 3, 4, 10, 0)


def test_deadline_rejects_naive_start(db):
    with pytest.raises(ValueError, match="no time zone"):
        add_working_time(datetime.datetime(2026, 3, 3, 9, 0), 30)


@pytest.mark.parametrize("minutes", [-1, 366 * 24 * 60 + 1, 1.5, True])
def test_deadline_rejects_bad_minutes(db, minutes):
    with pytest.raises(ValueError, match="minutes="):
        add_working_time(local(2026, 3, 3, 9, 0), minutes)


def test_deadline_fails_without_working_day_in_a_year(db):
    first = datetime.date(2030, 1, 1)
    CalendarDay.objects.bulk_create(
        CalendarDay(
            date=first + datetime.timedelta(days=offset),
            is_workday=False,
            name="closed",
            source=SOURCE_STAFF,
        )
        for offset in range(400)
    )
    with pytest.raises(NoWorkingDayError, match="No working day in the 366 days"):
        add_working_time(local(2030, 1, 1, 9, 0), 30)


# Deadline basis


def test_calendar_basis_ignores_holidays(synced):
    start = local(2025, 9, 30, 16, 30)
    deadline = deadline_after(start, 24 * 60, TimeBasis.CALENDAR)
    assert deadline == local(2025, 10, 1, 16, 30)


def test_calendar_basis_from_utc_returns_local_time(db):
    start = datetime.datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
    deadline = deadline_after(start, 90, TimeBasis.CALENDAR)
    assert deadline == local(2026, 3, 3, 2, 30)
    assert deadline.tzinfo == SHANGHAI


def test_working_basis_uses_working_time(synced):
    start = local(2025, 9, 30, 16, 30)
    deadline = deadline_after(start, 120, TimeBasis.WORKING)
    assert deadline == local(2025, 10, 9, 9, 30)


def test_deadline_after_rejects_unknown_basis(db):
    with pytest.raises(ValueError, match="basis=''"):
        deadline_after(local(2026, 3, 3, 9, 0), 30, "")


# Query counts


def test_deadline_across_long_holiday_costs_one_query(
    synced, django_assert_num_queries
):
    with django_assert_num_queries(1):
        add_working_time(local(2025, 9, 30, 16, 30), 10 * 450)


def test_deadline_with_shared_calendar_costs_no_query(
    synced, django_assert_num_queries
):
    working_calendar = WorkingCalendar([2025, 2026])
    with django_assert_num_queries(0):
        for day in range(1, 31):
            start = local(2025, 9, day, 10, 0)
            deadline_after(start, 600, TimeBasis.WORKING, calendar=working_calendar)


def test_deadline_into_third_year_costs_one_more_query(
    synced, django_assert_num_queries
):
    # 300 working days from December 2025 end in 2027: years 2025 and 2026
    # come in the first query, 2027 in a second.
    with django_assert_num_queries(2):
        deadline = add_working_time(local(2025, 12, 1, 9, 0), 300 * 450)
    assert deadline.year == 2027


# Years without entries


def test_missing_years_lists_next_year_without_rows(db):
    calendar_sync(years=[2025])
    assert missing_calendar_years(datetime.date(2025, 6, 1)) == [2026]


def test_missing_years_empty_when_both_years_filled(synced):
    assert missing_calendar_years(datetime.date(2025, 6, 1)) == []


def test_missing_message_names_year(db):
    calendar_sync(years=[2025])
    message = missing_calendar_message(datetime.date(2025, 6, 1))
    assert message is not None
    assert "2026" in message
    assert "2025" not in message


def test_missing_message_none_when_filled(synced):
    assert missing_calendar_message(datetime.date(2025, 6, 1)) is None


def test_deadline_into_empty_year_logs_warning_once(db, caplog):
    calendar_sync(years=[2025])
    caplog.set_level(logging.WARNING, logger="incidents.calendar")
    add_working_time(local(2025, 12, 31, 16, 0), 600)
    add_working_time(local(2025, 12, 31, 16, 0), 900)

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].args == (2026,)


def test_deadline_within_filled_year_logs_nothing(synced, caplog):
    caplog.set_level(logging.WARNING, logger="incidents.calendar")
    add_working_time(local(2025, 9, 30, 16, 30), 120)
    assert caplog.records == []


def test_reached_year_stays_missing_until_filled(synced):
    add_working_time(local(2026, 6, 1, 9, 0), 200 * 450)  # reaches 2027
    assert missing_calendar_years(datetime.date(2025, 6, 1)) == [2027]

    CalendarDay.objects.create(
        date=datetime.date(2027, 1, 1), is_workday=False, source=SOURCE_STAFF
    )
    assert missing_calendar_years(datetime.date(2025, 6, 1)) == []


def test_calendar_check_warns_about_missing_years(db):
    this_year = timezone.localdate().year
    messages = check_calendar_years()
    assert [message.id for message in messages] == ["westgarden.W001"]
    assert str(this_year) in messages[0].msg
    assert str(this_year + 1) in messages[0].msg


def test_calendar_check_silent_when_years_filled(db):
    this_year = timezone.localdate().year
    for year in (this_year, this_year + 1):
        CalendarDay.objects.create(
            date=datetime.date(year, 1, 1), is_workday=False, source=SOURCE_STAFF
        )
    assert check_calendar_years() == []


def test_check_command_shows_calendar_warning(db):
    output = io.StringIO()
    call_command("check", stdout=output, stderr=output)
    assert "westgarden.W001" in output.getvalue()


# Working hours setting


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "08:30",
        "8:30-12:00",
        "08:30-12:00;13:30-17:30",
        "08:30-25:00",
        "12:00-08:30",
        "08:30-08:30",
        "08:30-12:00,11:00-13:00",
        "13:30-17:30,08:30-12:00",
        "08:30-12:00,",
    ],
)
def test_bad_working_hours_raise_naming_value(db, settings, raw):
    settings.WESTGARDEN_WORKING_HOURS = raw
    with pytest.raises(ImproperlyConfigured) as caught:
        add_working_time(local(2026, 3, 3, 9, 0), 30)
    assert f"WESTGARDEN_WORKING_HOURS={raw!r}" in str(caught.value)


def test_working_hours_parse_periods():
    assert parse_working_hours("08:30-12:00, 13:30-17:30") == [
        (datetime.time(8, 30), datetime.time(12, 0)),
        (datetime.time(13, 30), datetime.time(17, 30)),
    ]


def test_working_hours_check_reports_bad_value(settings):
    settings.WESTGARDEN_WORKING_HOURS = "13:30-17:30,08:30-12:00"
    messages = check_working_hours()
    assert [message.id for message in messages] == ["westgarden.E001"]
    assert "13:30-17:30,08:30-12:00" in messages[0].msg


def test_working_hours_check_accepts_default():
    assert check_working_hours() == []


# Filling the table


def rows_by_date() -> dict[datetime.date, tuple[bool, str, str]]:
    return {
        row.date: (row.is_workday, row.name, row.source)
        for row in CalendarDay.objects.all()
    }


def test_sync_writes_weekday_holidays_and_makeup_days(db):
    result = calendar_sync(years=[2025])
    rows = rows_by_date()

    assert [year.year for year in result.synced] == [2025]
    assert rows[datetime.date(2025, 10, 1)] == (False, "国庆节", SOURCE_PACKAGE)
    assert rows[datetime.date(2025, 10, 6)] == (False, "中秋", SOURCE_PACKAGE)
    assert rows[datetime.date(2025, 9, 28)] == (
        True,
        MAKEUP_WORKDAY_NAME,
        SOURCE_PACKAGE,
    )
    # A holiday on a weekend is a day off anyway and needs no row.
    assert datetime.date(2025, 10, 4) not in rows
    assert all(day.year == 2025 for day in rows)


def test_sync_twice_changes_nothing(db):
    calendar_sync(years=[2025, 2026])
    before = rows_by_date()
    result = calendar_sync(years=[2025, 2026])

    assert rows_by_date() == before
    for year_sync in result.synced:
        assert (year_sync.created, year_sync.updated, year_sync.deleted) == (0, 0, 0)


def test_sync_never_overwrites_staff_rows(db):
    CalendarDay.objects.create(
        date=datetime.date(2025, 10, 8),
        is_workday=True,
        name="值班",
        source=SOURCE_STAFF,
    )
    CalendarDay.objects.create(
        date=datetime.date(2025, 10, 11), is_workday=False, name="", source=""
    )
    result = calendar_sync(years=[2025])
    rows = rows_by_date()

    assert rows[datetime.date(2025, 10, 8)] == (True, "值班", SOURCE_STAFF)
    assert rows[datetime.date(2025, 10, 11)] == (False, "", "")
    assert result.synced[0].left_to_staff == 2


def test_sync_corrects_and_removes_own_rows(db):
    calendar_sync(years=[2025])
    CalendarDay.objects.filter(date=datetime.date(2025, 10, 1)).update(name="old")
    CalendarDay.objects.create(
        date=datetime.date(2025, 3, 5), is_workday=False, source=SOURCE_PACKAGE
    )
    result = calendar_sync(years=[2025])
    rows = rows_by_date()

    assert rows[datetime.date(2025, 10, 1)] == (False, "国庆节", SOURCE_PACKAGE)
    assert datetime.date(2025, 3, 5) not in rows
    assert result.synced[0].updated == 1
    assert result.synced[0].deleted == 1


def test_sync_keeps_staff_rows_on_plain_days(db):
    CalendarDay.objects.create(
        date=datetime.date(2025, 3, 5), is_workday=False, source=SOURCE_STAFF
    )
    calendar_sync(years=[2025])
    assert rows_by_date()[datetime.date(2025, 3, 5)] == (False, "", SOURCE_STAFF)


def test_sync_reports_unknown_years(db):
    result = calendar_sync(years=[2100, 2025])
    assert result.unknown_years == [2100]
    assert [year.year for year in result.synced] == [2025]
    assert not CalendarDay.objects.filter(date__year=2100).exists()


def test_sync_command_skips_unknown_year(db):
    output, errors = io.StringIO(), io.StringIO()
    call_command(
        "sync_calendar", "--years", "2025", "2100", stdout=output, stderr=errors
    )
    assert "2025: 23 created" in output.getvalue()
    assert "2100: not in chinesecalendar" in errors.getvalue()


def test_sync_command_fails_all_unknown(db):
    errors = io.StringIO()
    with pytest.raises(CommandError, match="1999, 2100"):
        call_command("sync_calendar", "--years", "1999", "2100", stderr=errors)
    assert CalendarDay.objects.count() == 0


def test_sync_command_defaults_to_this_and_next_year(db):
    output, errors = io.StringIO(), io.StringIO()
    this_year = timezone.localdate().year
    try:
        call_command("sync_calendar", stdout=output, stderr=errors)
    except CommandError:
        pass  # the installed package may cover neither year
    text = output.getvalue() + errors.getvalue()
    assert f"{this_year}:" in text
    assert f"{this_year + 1}:" in text


# Admin


def test_admin_lists_days_of_year(client, office_admin, synced):
    client.force_login(office_admin)
    url = reverse("admin:incidents_calendarday_changelist")
    response = client.get(url, {"year": "2025"})
    assert response.status_code == 200

    listed = {day.date for day in response.context["cl"].result_list}
    assert datetime.date(2025, 10, 1) in listed
    assert all(day.year == 2025 for day in listed)


def test_admin_filters_working_days(client, office_admin, synced):
    client.force_login(office_admin)
    url = reverse("admin:incidents_calendarday_changelist")
    response = client.get(url, {"year": "2025", "is_workday__exact": "1"})

    listed = response.context["cl"].result_list
    assert {day.name for day in listed} == {MAKEUP_WORKDAY_NAME}
    assert len(listed) == 5


def test_admin_searches_by_name(client, office_admin, synced):
    client.force_login(office_admin)
    url = reverse("admin:incidents_calendarday_changelist")
    response = client.get(url, {"q": "中秋"})

    listed = {day.date for day in response.context["cl"].result_list}
    assert listed == {datetime.date(2025, 10, 6), datetime.date(2026, 9, 25)}


def test_admin_rejects_bad_year_filter(client, office_admin, synced):
    client.force_login(office_admin)
    url = reverse("admin:incidents_calendarday_changelist")
    response = client.get(url, {"year": "abc"})
    assert response.status_code == 302
    assert "e=1" in response["Location"]


def test_admin_edit_marks_row_as_staff(client, office_admin, synced):
    client.force_login(office_admin)
    row = CalendarDay.objects.get(date=datetime.date(2025, 10, 8))
    url = reverse("admin:incidents_calendarday_change", args=[row.pk])
    response = client.post(
        url, {"date": "2025-10-08", "is_workday": "on", "name": "值班"}
    )
    assert response.status_code == 302

    row.refresh_from_db()
    assert (row.is_workday, row.name, row.source) == (True, "值班", SOURCE_STAFF)
    calendar_sync(years=[2025])
    row.refresh_from_db()
    assert (row.is_workday, row.name, row.source) == (True, "值班", SOURCE_STAFF)


def test_admin_add_marks_row_as_staff(client, office_admin, db):
    client.force_login(office_admin)
    url = reverse("admin:incidents_calendarday_add")
    response = client.post(url, {"date": "2030-05-06", "name": "停电"})
    assert response.status_code == 302

    row = CalendarDay.objects.get(date=datetime.date(2030, 5, 6))
    assert (row.is_workday, row.source) == (False, SOURCE_STAFF)


def test_admin_list_warns_about_missing_year(client, office_admin, db):
    client.force_login(office_admin)
    response = client.get(reverse("admin:incidents_calendarday_changelist"))
    shown = [str(message) for message in response.context["messages"]]
    assert len(shown) == 1
    assert str(timezone.localdate().year + 1) in shown[0]


def test_admin_list_query_count_is_constant(
    client, office_admin, synced, django_assert_num_queries
):
    client.force_login(office_admin)
    url = reverse("admin:incidents_calendarday_changelist")
    client.get(url)  # warm the session and content types
    with django_assert_num_queries(NUM_ADMIN_LIST_QUERIES):
        client.get(url, {"year": "2025"})
    calendar_sync(years=[2024])
    with django_assert_num_queries(NUM_ADMIN_LIST_QUERIES):
        client.get(url)
