"""The clock, zone and people the meeting-form tests and the render tests share."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=NEW_YORK)  # a Monday
TODAY = NOW.date()
ALEX = "5f0e1c2d-1111-4222-8333-944455556666"
