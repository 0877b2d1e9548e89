"""Working time by the Chinese calendar, for ticket deadlines.

A day is a working day when its CalendarDay row marks it as one, and otherwise
when it falls on Monday to Friday. Within a working day only the periods of
WESTGARDEN_WORKING_HOURS count, read in the office's time zone
(settings.TIME_ZONE), whatever time zone a start time is given in.

Queries: WorkingCalendar reads whole calendar years, all the years it is
asked for in one query. add_working_time() and deadline_after() therefore
issue one query, plus one for each further year when the deadline runs past
the end of the year after the start. Given a WorkingCalendar that already
holds the years, they issue none, which lets a sweep over many tickets share
one read.
"""

import datetime
import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import version

import chinese_calendar
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import ngettext

from incidents.models import CalendarDay, TimeBasis

logger = logging.getLogger(__name__)

WORKING_HOURS_SETTING = "WESTGARDEN_WORKING_HOURS"
DEFAULT_WORKING_HOURS = "08:30-12:00,13:30-17:30"

SOURCE_PACKAGE = "chinesecalendar"
SOURCE_STAFF = "staff"
MAKEUP_WORKDAY_NAME = "调休上班"

# A table that marks a whole year as days off is a data error, and without
# this limit a deadline computation would walk the calendar forever.
MAX_DAYS_WITHOUT_WORK = 366
# A deadline of more than a year is a configuration error, and the cap also
# bounds the loop.
MAX_DEADLINE_MINUTES = 366 * 24 * 60

Period = tuple[datetime.time, datetime.time]

_CLOCK_TIME = re.compile(r"(\d{2}):(\d{2})")


class NoWorkingDayError(Exception):
    """No working day follows a date within MAX_DAYS_WITHOUT_WORK days."""


# Working hours


def parse_working_hours(raw: str, *, name: str = WORKING_HOURS_SETTING) -> list[Period]:
    """Parse "08:30-12:00,13:30-17:30" into a list of (start, end) times.

    Raise ImproperlyConfigured naming the variable ``name`` and ``raw`` when a
    period is not HH:MM-HH:MM, ends before it starts, or overlaps or comes
    before the period listed ahead of it.
    """
    usage = "Use HH:MM-HH:MM periods in time order, e.g. 08:30-12:00,13:30-17:30"
    if not raw.strip():
        raise ImproperlyConfigured(f"{name}={raw!r} is empty. {usage}.")

    periods: list[Period] = []
    for item in (item.strip() for item in raw.split(",")):
        start = end = None
        bounds = item.split("-")
        if len(bounds) == 2:
            start = _parse_clock_time(bounds[0].strip())
            end = _parse_clock_time(bounds[1].strip())
        if start is None or end is None:
            raise ImproperlyConfigured(
                f"{name}={raw!r} has an invalid period {item!r}. {usage}."
            )
        if end <= start:
            raise ImproperlyConfigured(
                f"{name}={raw!r} has a period {item!r} that ends before it starts. "
                f"{usage}."
            )
        if periods and start < periods[-1][1]:
            raise ImproperlyConfigured(
                f"{name}={raw!r} has a period {item!r} that overlaps or comes "
                f"before the one ahead of it. {usage}."
            )
        periods.append((start, end))
    return periods


def _parse_clock_time(text: str) -> datetime.time | None:
    match = _CLOCK_TIME.fullmatch(text)
    if match is None:
        return None
    try:
        return datetime.time(int(match[1]), int(match[2]))
    except ValueError:
        return None


def working_hours() -> list[Period]:
    """Return the configured working periods of a working day, in local time."""
    raw = getattr(settings, WORKING_HOURS_SETTING, DEFAULT_WORKING_HOURS)
    return parse_working_hours(raw)


# Working days


class WorkingCalendar:
    """Working days of whole calendar years, read from CalendarDay.

    The constructor reads the given years in one query. Asking about a day in
    another year reads that year with one more query. An instance is a
    snapshot, so build one per request or task and never per process,
    because staff edits in the admin must count from the next computation on.
    """

    def __init__(self, years: Iterable[int] = ()) -> None:
        self._overrides: dict[datetime.date, bool] = {}
        self._loaded_years: set[int] = set()
        self._years_with_entries: set[int] = set()
        self.load_years(years)

    @classmethod
    def for_dates(cls, first: datetime.date, last: datetime.date) -> "WorkingCalendar":
        return cls(range(first.year, last.year + 1))

    @classmethod
    def from_moment(cls, moment: datetime.datetime) -> "WorkingCalendar":
        """Read the local year of ``moment`` and the next, where deadlines end."""
        local = timezone.localtime(moment)
        return cls([local.year, local.year + 1])

    def load_years(self, years: Iterable[int]) -> None:
        """Read every year from the lowest to the highest given, in one query."""
        new_years = set(years) - self._loaded_years
        if not new_years:
            return

        first, last = min(new_years), max(new_years)
        # Routing builds a calendar for every ticket, and a plain query costs
        # a fraction of the ORM's. Django's SQLite backend converts the
        # declared date and bool columns, as psycopg2 does.
        table = connection.ops.quote_name(CalendarDay._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT date, is_workday FROM {table} WHERE date >= %s AND date <= %s",
                [f"{first:04d}-01-01", f"{last:04d}-12-31"],
            )
            rows = cursor.fetchall()
        for day, is_working in rows:
            self._overrides[day] = bool(is_working)
            self._years_with_entries.add(day.year)
        self._loaded_years.update(range(first, last + 1))

    def is_workday(self, day: datetime.date) -> bool:
        """Return True if ``day`` is a working day.

        A day in a year without any CalendarDay row falls back to Monday to
        Friday, and each such year is logged once per process.
        """
        if day.year not in self._loaded_years:
            self.load_years([day.year])
        if day.year not in self._years_with_entries:
            _note_year_without_entries(day.year)

        override = self._overrides.get(day)
        if override is not None:
            return override
        return day.weekday() < 5

    def years_without_entries(self) -> list[int]:
        return sorted(self._loaded_years - self._years_with_entries)


def is_workday(day: datetime.date) -> bool:
    """Return True if ``day`` is a working day.

    Each call issues one query, so ask a WorkingCalendar about many days.
    """
    return WorkingCalendar([day.year]).is_workday(day)


# Years that a computation in this process reached without finding any entry.
# Guarded by a lock so that each year is logged once.
_years_reached_without_entries: set[int] = set()
_years_lock = threading.Lock()


def _note_year_without_entries(year: int) -> None:
    with _years_lock:
        if year in _years_reached_without_entries:
            return
        _years_reached_without_entries.add(year)

    logger.warning(
        "calendar has no holidays or make-up working days for year %s, so "
        "Monday to Friday count as working days. Run manage.py sync_calendar "
        "or enter the year's days in the admin",
        year,
    )


# Deadlines


def add_working_time(
    start: datetime.datetime,
    minutes: int,
    *,
    calendar: WorkingCalendar | None = None,
) -> datetime.datetime:
    """Return the moment when ``minutes`` of working time have passed since ``start``.

    Only the working periods of working days count, in the office's time
    zone. A start outside working hours counts from the next working period,
    and a deadline that ends with a period is the end of that period, not
    the start of the next. The result is in the office's time zone.

    Raise ValueError for a naive ``start`` or for ``minutes`` outside 0 to
    MAX_DEADLINE_MINUTES, ImproperlyConfigured for bad working hours, and
    NoWorkingDayError when MAX_DAYS_WITHOUT_WORK days in a row are days off.
    """
    _check_start(start)
    _check_minutes(minutes)
    periods = working_hours()
    office_zone = timezone.get_default_timezone()
    cursor = start.astimezone(office_zone)
    if calendar is None:
        calendar = WorkingCalendar([cursor.year, cursor.year + 1])

    remaining = datetime.timedelta(minutes=minutes)
    day = cursor.date()
    days_without_work = 0
    while True:
        if calendar.is_workday(day):
            days_without_work = 0
            for period_start, period_end in periods:
                begin = datetime.datetime.combine(day, period_start, office_zone)
                end = datetime.datetime.combine(day, period_end, office_zone)
                begin = max(begin, cursor)
                if end <= begin:
                    continue
                if remaining <= end - begin:
                    return begin + remaining
                remaining -= end - begin
        else:
            days_without_work += 1
            if days_without_work >= MAX_DAYS_WITHOUT_WORK:
                raise NoWorkingDayError(
                    f"No working day in the {MAX_DAYS_WITHOUT_WORK} days up to "
                    f"{day}. Check the holidays and make-up working days table."
                )
        day += datetime.timedelta(days=1)


def deadline_after(
    start: datetime.datetime,
    minutes: int,
    basis: str,
    *,
    calendar: WorkingCalendar | None = None,
) -> datetime.datetime:
    """Return the deadline ``minutes`` after ``start`` counted by ``basis``.

    ``basis`` is a TimeBasis value: working time follows add_working_time(),
    and calendar time adds plain minutes, holidays included. Raise
    ValueError for an unknown basis and as add_working_time() does.
    """
    if basis == TimeBasis.WORKING:
        return add_working_time(start, minutes, calendar=calendar)
    if basis != TimeBasis.CALENDAR:
        raise ValueError(
            f"basis={basis!r} is not a time basis; use one of "
            f"{', '.join(TimeBasis.values)}."
        )

    _check_start(start)
    _check_minutes(minutes)
    office_zone = timezone.get_default_timezone()
    # Aware arithmetic in UTC counts elapsed time, even across a clock change.
    deadline = start.astimezone(datetime.UTC) + datetime.timedelta(minutes=minutes)
    return deadline.astimezone(office_zone)


def _check_start(start: datetime.datetime) -> None:
    if timezone.is_naive(start):
        raise ValueError(f"start={start.isoformat()} has no time zone.")


def _check_minutes(minutes: int) -> None:
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise ValueError(f"minutes={minutes!r} is not an integer.")
    if not 0 <= minutes <= MAX_DEADLINE_MINUTES:
        raise ValueError(
            f"minutes={minutes} is outside 0 to {MAX_DEADLINE_MINUTES} (366 days)."
        )


# Years without entries


def missing_calendar_years(today: datetime.date | None = None) -> list[int]:
    """Return the years whose holidays and make-up working days are missing.

    The candidates are the year of ``today`` (the office's date by default),
    the year after, and every year that a computation in this process reached
    without entries. A candidate is missing while the table has no row in it.
    One query.
    """
    if today is None:
        today = timezone.localdate()
    with _years_lock:
        candidates = {today.year, today.year + 1} | _years_reached_without_entries

    present = CalendarDay.objects.filter(
        date__gte=datetime.date(min(candidates), 1, 1),
        date__lte=datetime.date(max(candidates), 12, 31),
    ).dates("date", "year")
    return sorted(candidates - {day.year for day in present})


def missing_calendar_message(today: datetime.date | None = None) -> str | None:
    """Return a warning for staff naming the missing years, or None."""
    years = missing_calendar_years(today)
    if not years:
        return None

    return ngettext(
        "No holidays or make-up working days are entered for %(years)s, so "
        "deadlines count every Monday to Friday of that year as a working day. "
        "Enter its days under Holidays and make-up working days, or ask an "
        "administrator to run manage.py sync_calendar.",
        "No holidays or make-up working days are entered for %(years)s, so "
        "deadlines count every Monday to Friday of those years as working days. "
        "Enter their days under Holidays and make-up working days, or ask an "
        "administrator to run manage.py sync_calendar.",
        len(years),
    ) % {"years": ", ".join(str(year) for year in years)}


# Filling the table from the chinesecalendar package


@dataclass
class YearSync:
    """Counts of the rows that calendar_sync() changed in one year."""

    year: int
    created: int = 0
    updated: int = 0
    deleted: int = 0
    left_to_staff: int = 0  # package days that a staff row already covers


@dataclass
class CalendarSyncResult:
    synced: list[YearSync] = field(default_factory=list)
    unknown_years: list[int] = field(default_factory=list)


def package_coverage() -> str:
    """Return "chinesecalendar 1.11.0 (2004-2026)" for messages."""
    known = chinese_calendar.holidays
    first, last = min(known).year, max(known).year
    return f"{SOURCE_PACKAGE} {version(SOURCE_PACKAGE)} ({first}-{last})"


def package_calendar_days(year: int) -> dict[datetime.date, tuple[bool, str]]:
    """Return the days of ``year`` that differ from Monday to Friday.

    Map each weekday holiday to (False, its Chinese name) and each worked
    weekend day to (True, MAKEUP_WORKDAY_NAME). Raise NotImplementedError,
    as chinese_calendar does, for a year the package does not cover.
    """
    day = datetime.date(year, 1, 1)
    days: dict[datetime.date, tuple[bool, str]] = {}
    while day.year == year:
        is_holiday, english_name = chinese_calendar.get_holiday_detail(day)
        is_weekend = day.weekday() >= 5
        if is_holiday and not is_weekend:
            days[day] = (False, _chinese_holiday_name(english_name))
        elif is_weekend and not is_holiday:
            days[day] = (True, MAKEUP_WORKDAY_NAME)
        day += datetime.timedelta(days=1)
    return days


def _chinese_holiday_name(english_name: str | None) -> str:
    if english_name is None:
        return ""
    try:
        return chinese_calendar.Holiday(english_name).chinese
    except ValueError:
        return english_name


def calendar_sync(*, years: Iterable[int]) -> CalendarSyncResult:
    """Write the package's holidays and make-up working days of ``years``.

    Only rows whose source is SOURCE_PACKAGE are created, updated or deleted.
    Rows entered by staff, or from any other source, stay as they are, and a
    second run changes nothing. Years the package does not cover are listed in
    ``unknown_years`` and left untouched. Safe to run while another process
    runs it: inserts skip dates that exist by then, and updates and deletes
    apply only to rows that still carry the package's source.
    """
    result = CalendarSyncResult()
    days_by_year: dict[int, dict[datetime.date, tuple[bool, str]]] = {}
    for year in sorted(set(years)):
        try:
            days_by_year[year] = package_calendar_days(year)
        except NotImplementedError:
            result.unknown_years.append(year)
    if not days_by_year:
        return result

    with transaction.atomic(durable=True):
        existing = {
            row.date: row
            for row in CalendarDay.objects.filter(
                date__gte=datetime.date(min(days_by_year), 1, 1),
                date__lte=datetime.date(max(days_by_year), 12, 31),
            )
            if row.date.year in days_by_year
        }
        for year, days in days_by_year.items():
            result.synced.append(_sync_year(year, days, existing))
        if any(sync.created or sync.updated or sync.deleted for sync in result.synced):
            # Imported here because deadlines.py builds on this module.
            from incidents.deadlines import calendar_changed

            calendar_changed()

    for year_sync in result.synced:
        logger.info(
            "calendar synced year=%s created=%s updated=%s deleted=%s left_to_staff=%s",
            year_sync.year,
            year_sync.created,
            year_sync.updated,
            year_sync.deleted,
            year_sync.left_to_staff,
        )
    return result


def _sync_year(
    year: int,
    days: dict[datetime.date, tuple[bool, str]],
    existing: dict[datetime.date, CalendarDay],
) -> YearSync:
    """Bring the package's rows of ``year`` in line with ``days``.

    The caller must be inside a transaction.
    """
    year_sync = YearSync(year)
    new_rows = []
    for day, (is_working, name) in days.items():
        row = existing.get(day)
        if row is None:
            new_row = CalendarDay(
                date=day, is_workday=is_working, name=name, source=SOURCE_PACKAGE
            )
            new_row.full_clean(validate_unique=False, validate_constraints=False)
            new_rows.append(new_row)
        elif row.source != SOURCE_PACKAGE:
            year_sync.left_to_staff += 1
        elif (row.is_workday, row.name) != (is_working, name):
            # The source condition leaves alone a row that staff took over
            # since it was read above.
            year_sync.updated += CalendarDay.objects.filter(
                pk=row.pk, source=SOURCE_PACKAGE
            ).update(is_workday=is_working, name=name)

    # A date that staff or a concurrent run inserted meanwhile is skipped, and
    # still counted as created.
    CalendarDay.objects.bulk_create(new_rows, ignore_conflicts=True)
    year_sync.created = len(new_rows)

    stale = [
        row.pk
        for day, row in existing.items()
        if day.year == year and day not in days and row.source == SOURCE_PACKAGE
    ]
    if stale:
        year_sync.deleted, _ = CalendarDay.objects.filter(
            pk__in=stale, source=SOURCE_PACKAGE
        ).delete()
    return year_sync
