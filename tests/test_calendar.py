"""The change calendar at month boundaries, in leap years and across time zones."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from odoo_platform.cli import main
from odoo_platform.config import ChangeCalendar, DatedFreeze, Window
from odoo_platform.governance.calendar import decide, freeze_reason, in_maintenance_window
from odoo_platform.governance.diff import Risk
from tests.conftest import ROOT

DEFAULT = ChangeCalendar()


@pytest.mark.parametrize(
    ("day", "frozen"),
    [
        (date(2027, 1, 26), False),  # Tuesday before the last three business days
        (date(2027, 1, 27), True),   # Wed 27, Thu 28, Fri 29 are the last three business days
        (date(2027, 1, 30), True),   # the weekend after them stays frozen up to month end
        (date(2027, 2, 2), True),    # first two days of the next month
        (date(2027, 2, 3), False),
        (date(2028, 2, 24), False),  # leap year: Feb 2028 ends on Tuesday 29th
        (date(2028, 2, 25), True),   # Fri 25, Mon 28, Tue 29
        (date(2028, 2, 29), True),
        (date(2027, 3, 25), True),   # quarter end: the last five business days
        (date(2027, 4, 3), True),    # quarter start: the first three days
        (date(2027, 4, 4), False),
        (date(2026, 12, 20), True),  # year-end close wraps into January
        (date(2027, 1, 5), True),
        (date(2027, 1, 6), False),
    ],
)
def test_freeze_windows_at_month_quarter_and_year_boundaries(day, frozen):
    assert (freeze_reason(day, DEFAULT) is not None) is frozen


def test_quarter_end_counts_five_business_days():
    # March 2027 ends on Wednesday 31st: Thu 25, Fri 26, Mon 29, Tue 30, Wed 31.
    assert freeze_reason(date(2027, 3, 25), DEFAULT).startswith("quarter-end close")
    assert freeze_reason(date(2027, 3, 24), DEFAULT) is None


def test_dated_freezes_are_honoured():
    calendar = ChangeCalendar(freezes=[DatedFreeze(start=date(2027, 5, 10), end=date(2027, 5, 12), reason="audit fieldwork")])
    assert "audit fieldwork" in freeze_reason(date(2027, 5, 11), calendar)
    assert freeze_reason(date(2027, 5, 13), calendar) is None


def test_the_same_instant_is_frozen_in_one_time_zone_and_not_in_another():
    instant = datetime(2027, 2, 2, 23, 30, tzinfo=timezone.utc)  # Feb 3 00:30 in Brussels
    assert not decide(instant, Risk.MEDIUM, DEFAULT, Window(), "UTC").allowed
    assert decide(instant, Risk.MEDIUM, DEFAULT, Window(), "Europe/Brussels").allowed


def test_high_risk_waits_for_the_maintenance_window_and_low_risk_never_waits():
    window = Window(day_of_week=0, start_hour=2, duration_hours=4)
    sunday_night = datetime(2027, 1, 24, 3, 0, tzinfo=timezone.utc)
    tuesday = datetime(2027, 1, 19, 10, 0, tzinfo=timezone.utc)
    assert in_maintenance_window(sunday_night, window) and not in_maintenance_window(tuesday, window)
    assert decide(sunday_night, Risk.CRITICAL, DEFAULT, window, "UTC").allowed
    refused = decide(tuesday, Risk.HIGH, DEFAULT, window, "UTC")
    assert not refused.allowed and "maintenance window" in refused.reason
    assert decide(tuesday, Risk.MEDIUM, DEFAULT, window, "UTC").allowed
    frozen = datetime(2027, 1, 28, 10, 0, tzinfo=timezone.utc)
    assert decide(frozen, Risk.LOW, DEFAULT, window, "UTC").allowed


def test_an_emergency_needs_an_approval_reference_and_is_recorded_as_such():
    frozen = datetime(2027, 1, 28, 10, 0, tzinfo=timezone.utc)
    assert not decide(frozen, Risk.CRITICAL, DEFAULT, Window(), "UTC").allowed
    emergency = decide(frozen, Risk.CRITICAL, DEFAULT, Window(), "UTC", emergency_approval="CHG-4711")
    assert emergency.allowed and emergency.emergency and emergency.approval == "CHG-4711"
    assert emergency.reason.startswith("EMERGENCY change under approval CHG-4711")


def test_cli_exit_codes(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    assert main(["freeze", "check", "--at", "2027-01-28T10:00", "--risk", "medium"]) == 4
    assert capsys.readouterr().out.startswith("refused: 2027-01-28 10:00 UTC is in a change freeze: month-end close")
    assert main(["freeze", "check", "--at", "2027-01-19T10:00", "--risk", "medium"]) == 0
    assert main(["freeze", "check", "--stack", "prod", "--at", "2027-02-02T23:30+00:00", "--risk", "medium"]) == 0
    assert main(["freeze", "check", "--at", "yesterday"]) == 2
    assert main(["freeze", "check", "--stack", "nope"]) == 2


def test_tiers_can_have_their_own_maintenance_windows(plan_for):
    from tests.conftest import estate

    config = estate(maintenanceWindows={"3": {"dayOfWeek": 6, "startHour": 22, "durationHours": 2}})
    plan = plan_for(config)
    server = next(r for r in plan["resources"] if r["type"] == "azure-native:dbforpostgresql:Server")
    assert server["inputs"]["maintenanceWindow"]["dayOfWeek"] == 0  # the shared server carries tier 2: the default window
    tier3_only = estate(maintenanceWindows={"3": {"dayOfWeek": 6, "startHour": 22, "durationHours": 2}},
                        tenants=[{"name": "solo", "tier": 3, "users": 4, "hostname": "solo.example.com"}])
    server = next(r for r in plan_for(tier3_only)["resources"] if r["type"] == "azure-native:dbforpostgresql:Server")
    assert (server["inputs"]["maintenanceWindow"]["dayOfWeek"], server["inputs"]["maintenanceWindow"]["startHour"]) == (6, 22)
