"""SLA deadlines from the ticket's time: calendar time for sev1/sev2 hours, business hours otherwise."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from investigator.models import SLA, Severity
from investigator.policy.config import Calendar, Deadline, Policy


class BusinessCalendar:
    """Working hours on working days, in one time zone, minus holidays."""

    def __init__(self, calendar: Calendar) -> None:
        self.zone = ZoneInfo(calendar.timezone)
        self.start = time.fromisoformat(calendar.start)
        self.end = time.fromisoformat(calendar.end)
        self.weekdays = set(calendar.weekdays)
        self.holidays = {date.fromisoformat(d) for d in calendar.holidays}

    def _is_workday(self, day: date) -> bool:
        return day.isoweekday() in self.weekdays and day not in self.holidays

    def _day_bounds(self, day: date) -> tuple[datetime, datetime]:
        return (
            datetime.combine(day, self.start, tzinfo=self.zone),
            datetime.combine(day, self.end, tzinfo=self.zone),
        )

    def add_business_hours(self, moment: datetime, hours: float) -> datetime:
        """The moment ``hours`` working hours after ``moment``."""
        remaining = timedelta(hours=hours)
        cursor = moment.astimezone(self.zone)
        for _ in range(3660):  # ten years of days at most: a calendar with no working day must not loop forever
            day = cursor.date()
            if self._is_workday(day):
                opens, closes = self._day_bounds(day)
                begin = max(cursor, opens)
                if begin < closes:
                    available = closes - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(moment.tzinfo)
                    remaining -= available
            cursor = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone)
        raise ValueError("the business calendar has no working hours")

    def business_day_length(self) -> float:
        opens = datetime.combine(date(2000, 1, 3), self.start)
        closes = datetime.combine(date(2000, 1, 3), self.end)
        return (closes - opens).total_seconds() / 3600


def deadline_after(moment: datetime, text: str | None, calendar: BusinessCalendar) -> datetime | None:
    """Apply one deadline (``15m``, ``4bh``, ``1bd`` ...) to a moment; None for backlog."""
    if not text:
        return None
    deadline = Deadline.parse(text)
    if not deadline.business:
        return moment + deadline.calendar_delta()
    hours = deadline.amount if deadline.unit == "bh" else deadline.amount * calendar.business_day_length()
    return calendar.add_business_hours(moment, hours)


def compute_sla(severity: Severity, opened_at: datetime, policy: Policy) -> SLA:
    """The acknowledge / first update / resolve deadlines of a severity, from the ticket's time."""
    table = policy.severity.get(severity.value)
    if table is None:
        return SLA(policy=f"{severity.value}: no SLA configured")
    calendar = BusinessCalendar(policy.calendar)
    return SLA(
        acknowledge_by=deadline_after(opened_at, table.acknowledge, calendar),
        first_update_by=deadline_after(opened_at, table.first_update, calendar),
        resolve_by=deadline_after(opened_at, table.resolve, calendar),
        policy=f"{severity.value}: {table.meaning}".strip(": "),
    )
