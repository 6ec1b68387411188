"""Reading care-record extracts: CSV rows to validated records, with no database.

Pure and reusable: the FHIR importer to come builds the same :class:`CareRecord` from a
resource and hands it to the same writer. A bad field becomes a :class:`RowError` (line, field,
reason); a row reports all its bad fields at once (:class:`RowProblems`).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Final, Literal, TextIO
from zoneinfo import ZoneInfo

from stayactive.errors import ConfigurationError
from stayactive.registry import (
    NAME_CONTROL_CHARACTER,
    check_go_live,
    is_device_id,
    is_plain_name,
    is_pseudonym,
)

#: Columns every care-record extract must have.
REQUIRED_COLUMNS: Final = (
    "external_ref",
    "resident",
    "site",
    "ward",
    "admitted_at",
    "stay_type",
)
#: Columns that may be missing or empty.
OPTIONAL_COLUMNS: Final = (
    "birth_year",
    "sex",
    "ward_go_live_on",
    "discharged_at",
    "discharge_destination",
    "consent_care",
    "consent_evaluation",
    "consent_open_data",
    "admission_gait_speed_mps",
    "hospital_admission_at",
)
ASSIGNMENT_COLUMNS: Final = ("device_id", "kind", "resident", "valid_from", "valid_to")
_SEXES: Final = ("female", "male", "other", "unknown")
_DESTINATIONS: Final = ("home", "long_term_care", "hospital", "death", "other")
_TRUE: Final = frozenset({"true", "1", "yes", "ja", "y"})
_FALSE: Final = frozenset({"false", "0", "no", "nei", "n", ""})


@dataclass(frozen=True)
class RowError:
    """A row that was not imported: where, which field, why."""

    line: int
    field: str
    reason: str
    external_ref: str = ""

    def __str__(self) -> str:
        ref = f" ({self.external_ref})" if self.external_ref else ""
        where = f", {self.field}" if self.field else ""
        return f"line {self.line}{ref}{where}: {self.reason}"


class RowProblems(Exception):
    """The field errors of one row (collected, so a row reports all its problems at once)."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))

    @classmethod
    def one(cls, line: int, field: str, reason: str, external_ref: str = "") -> RowProblems:
        """The problems of a row with one bad field."""
        return cls([RowError(line, field, reason, external_ref)])


@dataclass(frozen=True)
class CareRecord:
    """One parsed, validated row of a care-record extract."""

    line: int
    external_ref: str
    resident: str
    birth_year: int | None
    sex: str
    site: str
    ward: str
    ward_go_live_on: date | None
    admitted_at: datetime
    discharged_at: datetime | None
    stay_type: int
    destination: str | None
    consent_evaluation: bool
    consent_open_data: bool
    gait_speed_mps: float | None
    hospital_admission_at: datetime | None
    #: Consent to StayActive's use of the device data in care (column absent: not given).
    consent_care: bool = False


#: What a date-time in an extract looks like (docs/operations.md, "Stays file").
_NOT_A_DATE_TIME: Final = (
    "{value!r} is not an ISO 8601 date-time: give it with a UTC offset "
    "(2026-03-01T10:15:00+01:00) or as local time (2026-03-01 10:15)"
)


def parse_instant(text: str, tz: ZoneInfo) -> datetime:
    """An ISO 8601 date-time with offset, or a local wall-clock time of ``tz``, as UTC.

    Raises
    ------
    ValueError
        Not a date-time, a date without time, or a local time that is skipped or repeated at
        a daylight-saving change.
    """
    value = text.strip()
    if _is_date(value):  # it would parse as its midnight, which the extract did not say
        raise ValueError(f"{value!r} needs a time of day, e.g. {value}T10:15")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(_NOT_A_DATE_TIME.format(value=value)) from exc
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    early, late = parsed.replace(tzinfo=tz, fold=0), parsed.replace(tzinfo=tz, fold=1)
    # A skipped time does not survive the round trip; a repeated one has two offsets.
    if early.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != parsed:
        raise ValueError(
            f"local time {value} does not exist in {tz.key} (clocks went forward); "
            "give the UTC offset"
        )
    if early.utcoffset() != late.utcoffset():
        raise ValueError(
            f"local time {value} occurs twice in {tz.key} (clocks went back); give the UTC offset"
        )
    return early.astimezone(UTC)


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


#: How far past the machine's clock a time in an extract may lie (a clock or zone slip).
_AHEAD: Final = timedelta(days=1)


def _flag(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{text!r} is not true or false")


def parse_care_record(line: int, row: dict[str, str], tz: ZoneInfo) -> CareRecord:
    """Validate one CSV row; raise RowProblems listing every bad field."""
    problems: list[RowError] = []
    ref = (row.get("external_ref") or "").strip()

    def get(name: str) -> str:
        return (row.get(name) or "").strip()

    def bad(name: str, reason: str) -> None:
        problems.append(RowError(line, name, reason, ref))

    if not ref:
        bad("external_ref", "is empty")
    elif len(ref) > 200:
        bad("external_ref", "is longer than 200 characters")
    resident = get("resident")
    if not is_pseudonym(resident):
        bad("resident", f"{resident!r} is not a pseudonym (4-64 letters, digits, - or _)")
    birth_year: int | None = None
    if get("birth_year"):
        try:
            birth_year = int(get("birth_year"))
            if not 1900 <= birth_year <= 2100:
                raise ValueError
        except ValueError:
            bad("birth_year", f"{get('birth_year')!r} is not a year between 1900 and 2100")
            birth_year = None
    sex = get("sex").lower() or "unknown"
    if sex not in _SEXES:
        bad("sex", f"{get('sex')!r} is not one of {', '.join(_SEXES)}")
    for name in ("site", "ward"):
        if not get(name):
            bad(name, "is empty")
        elif not is_plain_name(get(name)):
            bad(name, NAME_CONTROL_CHARACTER)
    go_live: date | None = None
    if get("ward_go_live_on"):
        try:
            go_live = date.fromisoformat(get("ward_go_live_on"))
            check_go_live(go_live)
        except ValueError:
            bad("ward_go_live_on", f"{get('ward_go_live_on')!r} is not a date (YYYY-MM-DD)")
        except ConfigurationError as exc:
            bad("ward_go_live_on", str(exc))
            go_live = None
    admitted_at = discharged_at = hospital_at = None
    for name in ("admitted_at", "discharged_at", "hospital_admission_at"):
        if not get(name):
            if name == "admitted_at":
                bad(name, "is empty")
            continue
        try:
            instant = parse_instant(get(name), tz)
        except ValueError as exc:
            bad(name, str(exc))
            continue
        if instant > datetime.now(UTC) + _AHEAD:
            bad(name, f"{get(name)!r} lies in the future: an extract records what has happened")
            continue
        if name == "admitted_at":
            admitted_at = instant
        elif name == "discharged_at":
            discharged_at = instant
        else:
            hospital_at = instant
    stay_type = int(get("stay_type")) if get("stay_type").isdigit() else 0
    if stay_type not in (18, 19, 20):
        bad("stay_type", f"{get('stay_type')!r} is not a KPR short-term stay code (18, 19, 20)")
    destination = get("discharge_destination") or None
    if destination is not None and destination not in _DESTINATIONS:
        bad("discharge_destination", f"{destination!r} is not one of {', '.join(_DESTINATIONS)}")
    if discharged_at is not None and destination is None:
        bad("discharge_destination", "is needed when discharged_at is given")
    if discharged_at is None and destination is not None and not get("discharged_at"):
        bad("discharged_at", "is needed when discharge_destination is given")
    if admitted_at and discharged_at and discharged_at <= admitted_at:
        bad("discharged_at", "is not after admitted_at")
        discharged_at = None
    # The hospital admission is judged against an accepted discharge, or found wanting when
    # there is none; a discharge given but refused above is that field's error alone.
    no_discharge = not get("discharged_at")
    if hospital_at is not None and (
        no_discharge or (discharged_at is not None and hospital_at <= discharged_at)
    ):
        bad("hospital_admission_at", "must be after the stay's discharge")
    consents: dict[str, bool] = {}
    for name in ("consent_care", "consent_evaluation", "consent_open_data"):
        try:
            consents[name] = _flag(get(name))
        except ValueError as exc:
            bad(name, str(exc))
            consents[name] = False
    speed: float | None = None
    if get("admission_gait_speed_mps"):
        try:
            speed = float(get("admission_gait_speed_mps").replace(",", "."))
            if not (math.isfinite(speed) and 0 <= speed <= 3):
                raise ValueError
        except ValueError:
            bad("admission_gait_speed_mps", f"{get('admission_gait_speed_mps')!r} is not 0-3 m/s")
            speed = None
    if problems:
        raise RowProblems(problems)
    assert admitted_at is not None
    return CareRecord(
        line=line,
        external_ref=ref,
        resident=resident,
        birth_year=birth_year,
        sex=sex,
        site=get("site"),
        ward=get("ward"),
        ward_go_live_on=go_live,
        admitted_at=admitted_at,
        discharged_at=discharged_at,
        stay_type=stay_type,
        destination=destination,
        consent_evaluation=consents["consent_evaluation"],
        consent_open_data=consents["consent_open_data"],
        consent_care=consents["consent_care"],
        gait_speed_mps=speed,
        hospital_admission_at=hospital_at,
    )


def read_rows(stream: TextIO, required: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """CSV rows with their line numbers; comma or semicolon separated (Excel in Norway)."""
    try:
        text = stream.read()
    except UnicodeDecodeError as exc:
        # The API's import says the same (stayactive.api.imports); a spreadsheet saved as
        # "CSV" rather than "CSV UTF-8" writes Windows-1252 bytes.
        raise ConfigurationError(
            f"the CSV is not UTF-8 (byte {exc.object[exc.start]:#04x}): save it as UTF-8 CSV"
        ) from exc
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip() for h in reader.fieldnames or []]
    reader.fieldnames = header
    missing = [c for c in required if c not in header]
    if missing:
        raise ConfigurationError(
            f"the CSV lacks the column(s) {', '.join(missing)}; "
            f"found: {', '.join(header) or 'none'}"
        )
    for row in reader:
        yield reader.line_num, {k: v for k, v in row.items() if isinstance(k, str)}


def check_columns(path: Path, required: Iterable[str]) -> None:
    """Refuse a file that the import would refuse before its first row (not UTF-8, a required
    column missing), without writing anything: so that a command importing several files can
    check them all first. Raises :class:`ConfigurationError` as :func:`read_rows` does."""
    with open_source(path) as stream:
        next(read_rows(stream, required), None)


class open_source:
    """A context manager giving a text stream for a path (opened) or a stream (left open)."""

    def __init__(self, source: Path | TextIO) -> None:
        self._source = source
        self._opened: TextIO | None = None

    def __enter__(self) -> TextIO:
        if isinstance(self._source, Path):
            # utf-8-sig: spreadsheet programs write a byte-order mark.
            self._opened = self._source.open(encoding="utf-8-sig", newline="")
            return self._opened
        return self._source

    def __exit__(self, *exc: object) -> None:
        if self._opened is not None:
            self._opened.close()


@dataclass
class FileChecks:
    """What an extract says across its rows: a row that contradicts an earlier row of the same
    file (the same stay twice, two go-live dates for one ward) is refused."""

    go_live: dict[tuple[str, str], date | None] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)

    def check(self, record: CareRecord) -> None:
        """Refuse ``record`` if it contradicts an earlier row; remember it otherwise."""
        ref = record.external_ref
        if ref in self.lines:
            raise RowProblems.one(
                record.line, "external_ref", f"repeats the stay of line {self.lines[ref]}", ref
            )
        key = (record.site, record.ward)
        if key in self.go_live and self.go_live[key] != record.ward_go_live_on:
            raise RowProblems.one(
                record.line,
                "ward_go_live_on",
                f"ward {record.ward!r} has go-live {self.go_live[key]} on an earlier row",
                ref,
            )
        self.go_live[key] = record.ward_go_live_on
        self.lines[ref] = record.line


@dataclass(frozen=True)
class AssignmentRecord:
    """One parsed, validated row of a device-assignments extract."""

    line: int
    device_id: str
    kind: Literal["walker", "robot"]
    resident: str
    valid_from: datetime
    valid_to: datetime | None


def parse_assignment(line: int, row: dict[str, str], tz: ZoneInfo) -> AssignmentRecord:
    """Validate one assignments row; raise :class:`RowProblems` listing every bad field."""
    problems: list[RowError] = []
    device_id = (row.get("device_id") or "").strip()
    kind = (row.get("kind") or "").strip()
    resident = (row.get("resident") or "").strip()
    if not is_device_id(device_id):
        problems.append(RowError(line, "device_id", f"{device_id!r} is not a device id"))
    if kind not in ("walker", "robot"):
        problems.append(RowError(line, "kind", f"{kind!r} is not walker or robot"))
    times: dict[str, datetime | None] = {"valid_from": None, "valid_to": None}
    for name in times:
        text = (row.get(name) or "").strip()
        if not text:
            if name == "valid_from":
                problems.append(RowError(line, name, "is empty"))
            continue
        try:
            times[name] = parse_instant(text, tz)
        except ValueError as exc:
            problems.append(RowError(line, name, str(exc)))
    start, end = times["valid_from"], times["valid_to"]
    if start and end and end <= start:
        problems.append(RowError(line, "valid_to", "is not after valid_from"))
    if problems:
        raise RowProblems(problems)
    assert start is not None
    return AssignmentRecord(
        line, device_id, "walker" if kind == "walker" else "robot", resident, start, end
    )
