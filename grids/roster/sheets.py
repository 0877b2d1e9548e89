"""Read roster spreadsheets, CSV or XLSX, into rows keyed by column.

Street offices keep rosters in Excel: one workbook with a sheet per kind, or
one CSV file per kind. Headers may be Chinese or English and may carry notes
such as "手机号（必填）"; ``SheetSpec`` lists the accepted spellings. Row
numbers are the ones the spreadsheet shows, so the header is usually row 1.
"""

import codecs
import csv
import datetime
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

# Maximum number of rows that may precede the header, such as a title row.
MAX_HEADER_ROW = 10

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
CSV_SUFFIXES = (".csv", ".tsv", ".txt")


def normalize_label(text: str) -> str:
    """Return ``text`` folded for comparison with the accepted spellings.

    NFKC turns full-width letters and brackets into plain ones. Notes in
    brackets and the asterisks that templates put on required columns are
    removed.
    """
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"\(.*?\)", "", text)
    text = text.replace("*", "")
    return re.sub(r"[\s_\-]+", " ", text).strip().lower()


@dataclass(frozen=True)
class Column:
    """A column of a roster sheet and the header spellings that name it."""

    field: str
    label: str
    aliases: tuple[str, ...]
    required: bool = False

    def matches(self, header: str) -> bool:
        folded = normalize_label(header)
        return any(folded == normalize_label(alias) for alias in self.aliases)


@dataclass(frozen=True)
class SheetSpec:
    """One kind of roster sheet: its sheet names and its columns."""

    kind: str
    sheet_names: tuple[str, ...]
    columns: tuple[Column, ...]

    def column_for(self, header: str) -> Column | None:
        for column in self.columns:
            if column.matches(header):
                return column
        return None

    def required_columns(self) -> list[Column]:
        return [column for column in self.columns if column.required]

    def names_sheet(self, name: str) -> bool:
        return normalize_label(name) in {normalize_label(n) for n in self.sheet_names}


@dataclass(frozen=True)
class RosterError:
    """A problem with one cell, one row or a whole file, as shown to staff."""

    source: str
    row: int | None
    column: str
    value: str
    message: str

    def __str__(self) -> str:
        if self.row is None:
            return _("%(source)s: %(message)s") % {
                "source": self.source,
                "message": self.message,
            }
        if not self.column:
            return _("%(source)s, row %(row)s: %(message)s") % {
                "source": self.source,
                "row": self.row,
                "message": self.message,
            }
        return _(
            '%(source)s, row %(row)s, column %(column)s, value "%(value)s": %(message)s'
        ) % {
            "source": self.source,
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "message": self.message,
        }


class CellError(ValueError):
    """A cell value that cannot be parsed; the message gives the reason."""


@dataclass
class Row:
    """One data row of a sheet: raw cell values by field name."""

    sheet: "Sheet" = field(repr=False, compare=False)
    number: int = 0
    cells: dict[str, object] = field(default_factory=dict)

    def has(self, field_name: str) -> bool:
        """Return True if the sheet has the column at all."""
        return field_name in self.sheet.headers

    def text(self, field_name: str) -> str:
        return cell_text(self.cells.get(field_name))

    def error(
        self, field_name: str | None, message: str, *, value: str | None = None
    ) -> RosterError:
        """Return an error on this row, naming the column as the sheet spells it."""
        if field_name is None:
            return RosterError(self.sheet.source, self.number, "", "", message)
        if value is None:
            value = self.text(field_name)
        column = self.sheet.headers.get(field_name) or self.sheet.label_of(field_name)
        return RosterError(self.sheet.source, self.number, column, value, message)


@dataclass
class Sheet:
    """The rows of one CSV file or one workbook sheet, of one kind."""

    spec: SheetSpec
    source: str
    headers: dict[str, str]
    encoding: str | None = None
    ignored_headers: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)

    def label_of(self, field_name: str) -> str:
        for column in self.spec.columns:
            if column.field == field_name:
                return column.label
        return field_name


@dataclass(frozen=True)
class RosterFile:
    """An uploaded or local roster file: its name and its bytes."""

    name: str
    content: bytes


def cell_text(value: object) -> str:
    """Return a cell as trimmed text; whole numbers lose Excel's ``.0``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip()


class Choices:
    """The values of a choice column and the spellings accepted for each.

    The first spelling of each value is the one that error messages show.
    """

    def __init__(self, spellings: dict[str, tuple[str, ...]]) -> None:
        self.spellings = spellings
        self.lookup = {
            normalize_label(spelling): value
            for value, names in spellings.items()
            for spelling in (value, *names)
        }

    def parse(self, text: str) -> str:
        """Return the stored value that ``text`` names; raise CellError if none."""
        value = self.lookup.get(normalize_label(text))
        if value is None:
            known = "、".join(
                f"{names[0]} ({stored})" for stored, names in self.spellings.items()
            )
            raise CellError(
                _("Unknown value %(value)s; use one of %(known)s.")
                % {"value": text, "known": known}
            )
        return value


BOOLEAN_WORDS = {
    "是": True,
    "否": False,
    "yes": True,
    "no": False,
    "y": True,
    "n": False,
    "true": True,
    "false": False,
    "1": True,
    "0": False,
}


def parse_bool(text: str, *, default: bool) -> bool:
    """Return the yes/no that ``text`` states, or ``default`` for an empty cell."""
    if not text:
        return default

    value = BOOLEAN_WORDS.get(normalize_label(text))
    if value is None:
        raise CellError(
            _("Invalid yes/no value %(value)s; use 是 or 否 (yes or no).")
            % {"value": text}
        )
    return value


DATE_PATTERN = re.compile(
    r"^(?P<year>\d{4})\s*[-/.年]\s*(?P<month>\d{1,2})\s*[-/.月]\s*(?P<day>\d{1,2})"
    r"\s*日?(?:[ T]00:00(?::00)?)?$"
)


def parse_date(value: object) -> datetime.date | None:
    """Return the date in a cell, or None for an empty cell.

    Accept Excel date cells, 2024-03-01, 2024/3/1, 2024.3.1, 2024年3月1日 and
    20240301. Raise CellError on anything else or on a day that does not exist.
    """
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value

    text = cell_text(value)
    if not text:
        return None
    match = DATE_PATTERN.match(text)
    if match is None and re.fullmatch(r"\d{8}", text):
        match = re.match(r"(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})", text)
    if match is None:
        raise CellError(
            _("Invalid date %(value)s; write it as 2024-03-01.") % {"value": text}
        )
    try:
        return datetime.date(int(match["year"]), int(match["month"]), int(match["day"]))
    except ValueError:
        raise CellError(
            _("Invalid date %(value)s: that day does not exist.") % {"value": text}
        ) from None


class DecodeError(ValueError):
    """A CSV file that is neither UTF-8 nor GB18030.

    The message names the first invalid byte and its line.
    """


def decode_csv(content: bytes) -> tuple[str, str]:
    """Return the text of a CSV file and the name of the encoding it was in.

    A byte order mark decides the encoding. Without one, try UTF-8 and then
    GB18030, the superset of GBK that Excel for Chinese Windows saves. Raise
    DecodeError naming the encodings tried and the first bad byte.
    """
    boms = [
        (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
        (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
        (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
    ]
    for bom, codec, name in boms:
        if content.startswith(bom):
            try:
                return content.decode(codec), f"{name} (BOM)"
            except UnicodeDecodeError as error:
                raise DecodeError(
                    _(
                        "The file starts with a %(encoding)s byte order mark, but "
                        "%(detail)s. Save it again as CSV UTF-8."
                    )
                    % {"encoding": name, "detail": describe_bad_byte(content, error)}
                ) from None

    try:
        return content.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError as utf8_error:
        first_error = utf8_error
    try:
        return content.decode("gb18030"), "GB18030"
    except UnicodeDecodeError as gb_error:
        raise DecodeError(
            _(
                "The file could be decoded neither as UTF-8 (%(utf8)s) nor as "
                "GB18030/GBK (%(gb)s). Save it again as CSV UTF-8."
            )
            % {
                "utf8": describe_bad_byte(content, first_error),
                "gb": describe_bad_byte(content, gb_error),
            }
        ) from None


def describe_bad_byte(content: bytes, error: UnicodeDecodeError) -> str:
    line = content.count(b"\n", 0, error.start) + 1
    return _("byte 0x%(byte)02X on line %(line)s is invalid") % {
        "byte": content[error.start],
        "line": line,
    }


def read_roster_files(
    files: Sequence[RosterFile], specs: Sequence[SheetSpec], kind: str | None = None
) -> tuple[list[Sheet], list[RosterError], list[str]]:
    """Read every file into sheets and return the sheets, errors and notes.

    ``kind`` forces the kind of CSV files and single-sheet workbooks. Without
    it, a CSV file's kind comes from its header, and a sheet's kind from its
    name or else its header. The notes report encodings and ignored columns.
    """
    sheets: list[Sheet] = []
    errors: list[RosterError] = []
    notes: list[str] = []
    forced = None
    if kind is not None:
        forced = next(spec for spec in specs if spec.kind == kind)

    for roster_file in files:
        suffix = "." + roster_file.name.rsplit(".", 1)[-1].lower()
        if suffix in WORKBOOK_SUFFIXES:
            read = _read_workbook(roster_file, specs, forced)
        elif suffix in CSV_SUFFIXES:
            read = _read_csv(roster_file, specs, forced)
        else:
            message = _(
                "Unsupported file type %(suffix)s; save the roster as .xlsx or .csv."
            ) % {"suffix": suffix}
            read = ([], [RosterError(roster_file.name, None, "", "", message)], [])
        sheets.extend(read[0])
        errors.extend(read[1])
        notes.extend(read[2])

    for sheet in sheets:
        if sheet.ignored_headers:
            notes.append(
                _("%(source)s: ignored columns %(columns)s")
                % {"source": sheet.source, "columns": ", ".join(sheet.ignored_headers)}
            )
    return sheets, errors, notes


def _read_csv(
    roster_file: RosterFile, specs: Sequence[SheetSpec], forced: SheetSpec | None
) -> tuple[list[Sheet], list[RosterError], list[str]]:
    try:
        text, encoding = decode_csv(roster_file.content)
    except DecodeError as error:
        return [], [RosterError(roster_file.name, None, "", "", str(error))], []

    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    sheet, errors = _build_sheet(
        roster_file.name, enumerate(records, start=1), specs, forced, encoding
    )
    note = _("%(source)s: read as %(encoding)s") % {
        "source": roster_file.name,
        "encoding": encoding,
    }
    return ([sheet] if sheet else []), errors, [note]


def _read_workbook(
    roster_file: RosterFile, specs: Sequence[SheetSpec], forced: SheetSpec | None
) -> tuple[list[Sheet], list[RosterError], list[str]]:
    try:
        workbook = load_workbook(
            io.BytesIO(roster_file.content), read_only=True, data_only=True
        )
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as error:
        message = _("Not a readable XLSX workbook (%(error)s).") % {"error": error}
        return [], [RosterError(roster_file.name, None, "", "", message)], []

    sheets: list[Sheet] = []
    errors: list[RosterError] = []
    notes: list[str] = []
    try:
        worksheets = list(workbook.worksheets)
        for worksheet in worksheets:
            source = _("%(file)s, sheet %(sheet)s") % {
                "file": roster_file.name,
                "sheet": worksheet.title,
            }
            named = [spec for spec in specs if spec.names_sheet(worksheet.title)]
            if named:
                spec: SheetSpec | None = named[0]
            elif forced is not None and len(worksheets) == 1:
                spec = forced
            else:
                spec = None
            # Read-only mode trusts the sheet size that the writing program
            # stored, and some programs store a wrong one. Resetting it makes
            # openpyxl read every row.
            worksheet.reset_dimensions()
            rows = enumerate(worksheet.iter_rows(values_only=True), start=1)
            sheet, sheet_errors = _build_sheet(
                source, rows, specs, spec, None, quiet=spec is None
            )
            errors.extend(sheet_errors)
            if sheet is not None:
                sheets.append(sheet)
            elif not sheet_errors:
                notes.append(
                    _(
                        "%(source)s: ignored, neither its name nor its header "
                        "names grids, places or members"
                    )
                    % {"source": source}
                )
    finally:
        workbook.close()

    if not sheets and not errors:
        names = ", ".join("/".join(spec.sheet_names) for spec in specs)
        message = _("No roster sheet found; name the sheets %(names)s.") % {
            "names": names
        }
        errors.append(RosterError(roster_file.name, None, "", "", message))
    return sheets, errors, notes


def _build_sheet(
    source: str,
    records: Iterable[tuple[int, Sequence[object]]],
    specs: Sequence[SheetSpec],
    spec: SheetSpec | None,
    encoding: str | None,
    *,
    quiet: bool = False,
) -> tuple[Sheet | None, list[RosterError]]:
    """Find the header row, map its columns and collect the data rows.

    With ``quiet``, a sheet whose header matches no spec returns no sheet
    and no error, so that a workbook may carry notes on other sheets.
    """
    records = iter(records)
    seen: list[tuple[int, list[str]]] = []
    header_number = None
    for number, record in records:
        cells = [cell_text(value) for value in record]
        if not any(cells):
            continue
        seen.append((number, cells))
        spec = spec or _detect_spec(cells, specs)
        if spec is not None and _has_required(spec, cells):
            header_number = number
            break
        if len(seen) >= MAX_HEADER_ROW:
            break

    if header_number is None:
        if not seen and spec is not None:
            # A sheet of a known kind left empty, as in a blank template.
            return Sheet(spec=spec, source=source, headers={}, encoding=encoding), []
        if quiet and spec is None:
            return None, []
        return None, [_header_error(source, seen, specs, spec, encoding)]

    assert spec is not None
    header_cells = seen[-1][1]
    sheet = Sheet(spec=spec, source=source, headers={}, encoding=encoding)
    positions: dict[str, int] = {}
    errors: list[RosterError] = []
    for position, header in enumerate(header_cells):
        if not header:
            continue
        column = spec.column_for(header)
        if column is None:
            sheet.ignored_headers.append(header)
        elif column.field in positions:
            errors.append(
                RosterError(
                    source,
                    header_number,
                    header,
                    header,
                    _("Columns %(first)s and %(second)s both mean %(label)s.")
                    % {
                        "first": sheet.headers[column.field],
                        "second": header,
                        "label": column.label,
                    },
                )
            )
        else:
            positions[column.field] = position
            sheet.headers[column.field] = header

    for number, record in records:
        row_cells = {
            name: record[position] if position < len(record) else None
            for name, position in positions.items()
        }
        if any(cell_text(value) for value in row_cells.values()):
            sheet.rows.append(Row(sheet=sheet, number=number, cells=row_cells))
    return sheet, errors


def _has_required(spec: SheetSpec, cells: list[str]) -> bool:
    found = {column.field for cell in cells if (column := spec.column_for(cell))}
    return all(column.field in found for column in spec.required_columns())


def _detect_spec(cells: list[str], specs: Sequence[SheetSpec]) -> SheetSpec | None:
    """Return the one spec whose required columns the header has, if one fits.

    When several fit, the one that recognizes the most headers wins. A tie
    returns None, so the caller reports that the kind is needed.
    """
    fitting = [spec for spec in specs if _has_required(spec, cells)]
    if not fitting:
        return None

    def recognized(spec: SheetSpec) -> int:
        return sum(1 for cell in cells if cell and spec.column_for(cell))

    fitting.sort(key=recognized, reverse=True)
    if len(fitting) > 1 and recognized(fitting[0]) == recognized(fitting[1]):
        return None
    return fitting[0]


def _header_error(
    source: str,
    seen: list[tuple[int, list[str]]],
    specs: Sequence[SheetSpec],
    spec: SheetSpec | None,
    encoding: str | None,
) -> RosterError:
    if not seen:
        message = _("No rows found; the file or sheet is empty.")
        return RosterError(source, None, "", "", message)

    number, cells = seen[0]
    read_as = ""
    if encoding is not None:
        read_as = " " + _(
            "The file was read as %(encoding)s; if the headers look garbled, "
            "save it again as CSV UTF-8."
        ) % {"encoding": encoding}
    if spec is None:
        kinds = ", ".join(known.kind for known in specs)
        message = _(
            "Cannot tell which roster this is from the header; name the kind "
            "(%(kinds)s) or use the column names of the roster reference."
        ) % {"kinds": kinds}
        return RosterError(source, number, "", "", message + read_as)

    found = {column.field for cell in cells if (column := spec.column_for(cell))}
    missing = [c.label for c in spec.required_columns() if c.field not in found]
    message = _("The %(kind)s header lacks the required columns %(columns)s.") % {
        "kind": spec.kind,
        "columns": "、".join(missing),
    }
    return RosterError(source, number, "", "", message + read_as)
