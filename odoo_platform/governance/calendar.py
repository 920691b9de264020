"""The change calendar: freeze windows around the financial close, and maintenance windows.

Low-risk changes (labels, tags) may happen any time. Anything riskier is refused during a
freeze; high and critical changes also wait for the estate's maintenance window. An
emergency change passes with an approval reference and is recorded as an emergency.
"""

from __future__ import annotations

import calendar as months
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Optional
from zoneinfo import ZoneInfo

from odoo_platform.config import ChangeCalendar, Window
from odoo_platform.governance.diff import Risk


@dataclass(frozen=True)
class Decision:
    allowed: bool
    at: str
    risk: str
    reason: str
    emergency: bool = False
    approval: Optional[str] = None


def _last_business_days(year: int, month: int, count: int) -> date | None:
    """First day of the month's last `count` business days (Monday to Friday)."""
    if count == 0:
        return None
    day = date(year, month, months.monthrange(year, month)[1])
    seen = 0
    while True:
        if day.weekday() < 5:
            seen += 1
            if seen == count:
                return day
        day -= timedelta(days=1)


def freeze_reason(day: date, calendar: ChangeCalendar) -> Optional[str]:
    for freeze in calendar.freezes:
        if freeze.start <= day <= freeze.end:
            return f"dated freeze {freeze.start}..{freeze.end}: {freeze.reason}"
    month_day = day.strftime("%m-%d")
    start, until = calendar.year_end_from, calendar.year_end_until
    in_year_end = (start <= month_day <= until) if start <= until else (month_day >= start or month_day <= until)
    if in_year_end:
        return f"year-end close ({calendar.year_end_from} to {calendar.year_end_until})"
    quarter_end = day.month in (3, 6, 9, 12)
    quarter_start = day.month in (1, 4, 7, 10)
    end_days = calendar.quarter_end_business_days if quarter_end else calendar.month_end_business_days
    start_days = calendar.quarter_start_days if quarter_start else calendar.month_start_days
    first_frozen = _last_business_days(day.year, day.month, end_days)
    if first_frozen and day >= first_frozen:
        return f"{'quarter' if quarter_end else 'month'}-end close (the last {end_days} business days of the month)"
    if day.day <= start_days:
        return f"{'quarter' if quarter_start else 'month'}-end close (the first {start_days} days of the month)"
    return None


def in_maintenance_window(moment: datetime, window: Window) -> bool:
    start_of_week = moment - timedelta(days=(moment.weekday() + 1) % 7)  # back to Sunday
    for week in (-7, 0):
        begins = (start_of_week + timedelta(days=week + window.day_of_week)).replace(
            hour=window.start_hour, minute=0, second=0, microsecond=0
        )
        if begins <= moment < begins + timedelta(hours=window.duration_hours):
            return True
    return False


def decide(
    moment: datetime, risk: Risk, calendar: ChangeCalendar, window: Window, time_zone: str,
    emergency_approval: Optional[str] = None,
) -> Decision:
    local = moment.astimezone(ZoneInfo(time_zone))
    stamp = local.isoformat()
    if risk is Risk.LOW:
        return Decision(True, stamp, risk.label, "low-risk changes are allowed at any time")
    frozen = freeze_reason(local.date(), calendar)
    needs_window = risk >= Risk.HIGH and not in_maintenance_window(local, window)
    if not frozen and not needs_window:
        return Decision(True, stamp, risk.label, "no freeze" + (" and inside the maintenance window" if risk >= Risk.HIGH else ""))
    blocker = (
        f"{local:%Y-%m-%d %H:%M %Z} is in a change freeze: {frozen}"
        if frozen
        else f"{risk.label} changes wait for the maintenance window ({_describe(window)}, {time_zone})"
    )
    if emergency_approval:
        return Decision(True, stamp, risk.label, f"EMERGENCY change under approval {emergency_approval}: {blocker}",
                        emergency=True, approval=emergency_approval)
    return Decision(False, stamp, risk.label, f"{blocker} (wait, or pass --emergency APPROVAL-REF for an approved emergency change)")


def _describe(window: Window) -> str:
    day = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")[window.day_of_week]
    return f"{day} {window.start_hour:02d}:00 for {window.duration_hours} h"
