"""The day a report may be asked "as of": one rule for the API and the command line."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from stayactive.errors import InvalidParameter

#: The earliest as-of day: no care-record extract reaches back before it.
EARLIEST_AS_OF: Final = date(2000, 1, 1)


def check_as_of(day: date) -> None:
    """Refuse an as-of ``day`` before :data:`EARLIEST_AS_OF` or after today.

    A report as of a future day would present data that do not exist yet as complete. One
    day's slack after the machine's today, since the tenant's local day may be ahead of it.

    Raises
    ------
    InvalidParameter
        ``name`` is ``"as_of"``; the message says the range and does not name the option
        (the caller adds ``as_of`` or ``--as-of``).
    """
    if not EARLIEST_AS_OF <= day <= date.today() + timedelta(days=1):
        raise InvalidParameter("as_of", f"{day} is out of range ({EARLIEST_AS_OF} to today)")


def end_of_local_day(day: date, time_zone: str) -> datetime:
    """The instant (UTC) a report "as of ``day``" is made at: the end of that day in the
    tenant's time zone, so that the whole day's data count."""
    return datetime.combine(day + timedelta(days=1), time(0), ZoneInfo(time_zone)).astimezone(UTC)
