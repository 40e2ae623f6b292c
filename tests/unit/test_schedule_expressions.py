"""Schedule expressions: each cron field feature, rate(), at(), time zones and daylight saving, with
fixed datetimes."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from lamina.schedules.expressions import InvalidScheduleExpression, Schedule, parse

UTC = timezone.utc


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def firings(schedule: Schedule, after: datetime, count: int) -> list[datetime]:
    out: list[datetime] = []
    t: datetime | None = after
    for _ in range(count):
        assert t is not None
        t = schedule.next_after(t)
        if t is None:
            break
        out.append(t)
    return out


def local(schedule: Schedule, after: datetime, count: int) -> list[str]:
    return [t.astimezone(schedule.tz).strftime("%Y-%m-%d %H:%M %Z") for t in firings(schedule, after, count)]


# rate()


def test_rate_counts_from_its_start_and_fires_at_the_start_itself() -> None:
    start = at(2026, 1, 1, 12, 0, 30)
    schedule = parse("rate(5 minutes)", start=start)
    assert schedule.next_after(at(2026, 1, 1)) == start
    assert schedule.next_after(start) == start + timedelta(minutes=5)
    assert schedule.next_after(at(2026, 1, 1, 13, 1)) == at(2026, 1, 1, 13, 5, 30)


@pytest.mark.parametrize("expression, period", [
    ("rate(1 minute)", timedelta(minutes=1)), ("rate(2 hours)", timedelta(hours=2)),
    ("rate(1 day)", timedelta(days=1)), ("rate(7 days)", timedelta(days=7)),
])  # fmt: skip
def test_rate_units(expression: str, period: timedelta) -> None:
    start = at(2026, 1, 1)
    assert parse(expression, start=start).next_after(start) == start + period


def test_a_rate_in_days_is_24_hours_across_daylight_saving() -> None:
    start = at(2026, 3, 7, 12)  # the day before New York springs forward
    schedule = parse("rate(1 day)", "America/New_York", start=start)
    assert schedule.next_after(start) == at(2026, 3, 8, 12)  # 08:00 local, where it was 07:00


@pytest.mark.parametrize("expression", [
    "rate(1 minutes)", "rate(2 minute)", "rate(0 minutes)", "rate(5 weeks)", "rate(5minutes)", "rate(-1 days)",
    "rate(1.5 hours)", "every 5 minutes", "",
])  # fmt: skip
def test_invalid_rates(expression: str) -> None:
    with pytest.raises(InvalidScheduleExpression) as info:
        parse(expression)
    assert info.value.message == f"Invalid Schedule Expression {expression}."
    assert info.value.code == "ValidationException"


# cron(): each field


def test_cron_fixed_minute_and_hour() -> None:
    assert local(parse("cron(15 10 * * ? *)"), at(2026, 5, 1, 10, 15), 2) == [
        "2026-05-02 10:15 UTC", "2026-05-03 10:15 UTC"]  # fmt: skip


def test_cron_increments_ranges_and_lists() -> None:
    assert local(parse("cron(0/20 8-9 * * ? *)"), at(2026, 5, 1), 7) == [
        "2026-05-01 08:00 UTC", "2026-05-01 08:20 UTC", "2026-05-01 08:40 UTC",
        "2026-05-01 09:00 UTC", "2026-05-01 09:20 UTC", "2026-05-01 09:40 UTC", "2026-05-02 08:00 UTC",
    ]  # fmt: skip
    assert local(parse("cron(5,35 1,13 * * ? *)"), at(2026, 5, 1), 4) == [
        "2026-05-01 01:05 UTC", "2026-05-01 01:35 UTC", "2026-05-01 13:05 UTC", "2026-05-01 13:35 UTC"]  # fmt: skip
    assert local(parse("cron(10-30/10 0 1 * ? *)"), at(2026, 5, 1), 3) == [
        "2026-05-01 00:10 UTC", "2026-05-01 00:20 UTC", "2026-05-01 00:30 UTC"]  # fmt: skip


def test_cron_day_of_month_and_month_names() -> None:
    assert local(parse("cron(0 12 31 JAN,MAR-APR ? *)"), at(2026, 1, 1), 3) == [
        "2026-01-31 12:00 UTC", "2026-03-31 12:00 UTC", "2027-01-31 12:00 UTC"]  # fmt: skip


def test_cron_last_day_of_month() -> None:
    assert local(parse("cron(0 0 L * ? *)"), at(2028, 1, 15), 3) == [
        "2028-01-31 00:00 UTC", "2028-02-29 00:00 UTC", "2028-03-31 00:00 UTC"]  # fmt: skip


def test_cron_nearest_weekday() -> None:
    # 2026-08-15 is a Saturday: the nearest weekday is Friday the 14th. 2026-11-01 is a Sunday and
    # the first: the nearest weekday in the month is Monday the 2nd. 2026-05-31 (LW) is a Sunday: Friday 29.
    assert local(parse("cron(0 9 15W AUG ? 2026)"), at(2026, 1, 1), 1) == ["2026-08-14 09:00 UTC"]
    assert local(parse("cron(0 9 1W NOV ? 2026)"), at(2026, 1, 1), 1) == ["2026-11-02 09:00 UTC"]
    assert local(parse("cron(0 9 LW MAY ? 2026)"), at(2026, 1, 1), 1) == ["2026-05-29 09:00 UTC"]


def test_cron_day_of_week_numbers_and_names_sunday_is_1() -> None:
    # 2026-06-01 is a Monday.
    assert local(parse("cron(0 8 ? * 1 *)"), at(2026, 6, 1), 1) == ["2026-06-07 08:00 UTC"]
    assert local(parse("cron(0 8 ? * MON-FRI *)"), at(2026, 6, 5, 9), 2) == [
        "2026-06-08 08:00 UTC", "2026-06-09 08:00 UTC"]  # fmt: skip
    assert local(parse("cron(0 8 ? * SAT,SUN *)"), at(2026, 6, 1), 2) == [
        "2026-06-06 08:00 UTC", "2026-06-07 08:00 UTC"]  # fmt: skip


def test_cron_last_weekday_of_month() -> None:
    assert local(parse("cron(0 10 ? * 6L 2026)"), at(2026, 1, 1), 3) == [
        "2026-01-30 10:00 UTC", "2026-02-27 10:00 UTC", "2026-03-27 10:00 UTC"]  # fmt: skip


def test_cron_nth_weekday_of_month() -> None:
    # The second Tuesday (3#2) and a fifth Friday, which not every month has.
    assert local(parse("cron(0 10 ? * 3#2 *)"), at(2026, 1, 1), 2) == ["2026-01-13 10:00 UTC", "2026-02-10 10:00 UTC"]
    assert local(parse("cron(0 10 ? * FRI#5 *)"), at(2026, 1, 1), 2) == ["2026-01-30 10:00 UTC", "2026-05-29 10:00 UTC"]


def test_cron_years_bound_it() -> None:
    schedule = parse("cron(0 0 1 1 ? 2027-2028)")
    assert local(schedule, at(2020, 1, 1), 3) == ["2027-01-01 00:00 UTC", "2028-01-01 00:00 UTC"]


def test_an_impossible_date_never_fires_and_is_answered_fast() -> None:
    began = time.monotonic()
    assert parse("cron(0 0 30 FEB ? *)").next_after(at(2026, 1, 1)) is None
    assert time.monotonic() - began < 2  # field by field, not minute by minute


@pytest.mark.parametrize("expression", [
    "cron(0-15/1 8-8 ? * 2,3,4,5,6,7 *)", "cron(30-30 13-13 ? * 2,4,6 *)", "cron(1-31/30 1-1 ? * 1,7 *)",
    "cron(0 0 1/10,2,3/8 * ? *)", "cron(0/5 0-1,3-23 * * ? *)",
])  # fmt: skip
def test_crons_aws_accepts(expression: str) -> None:
    assert parse(expression).next_after(at(2026, 1, 1)) is not None


def test_cron_is_case_insensitive_for_names() -> None:
    assert local(parse("cron(0 8 ? jan mon 2026)"), at(2026, 1, 1), 1) == ["2026-01-05 08:00 UTC"]


@pytest.mark.parametrize("expression", [
    "cron(0 8 * * * *)",  # both day fields set
    "cron(0 8 ? * ? *)",  # neither
    "cron(0 8 * *)", "cron(0 8 * * ? * *)",  # field count
    "cron(60 8 * * ? *)", "cron(0 24 * * ? *)", "cron(0 8 32 * ? *)", "cron(0 8 * 13 ? *)",
    "cron(0 8 ? * 8 *)", "cron(0 8 * * ? 2200)", "cron(0 8 * * ? 1969)", "cron(0/0 8 * * ? *)",
    "cron(5-1 8 * * ? *)", "cron(0 8 ? * MON#6 *)", "cron(0 8 * FOO ? *)", "cron(a b c d e f)",
])  # fmt: skip
def test_invalid_crons(expression: str) -> None:
    with pytest.raises(InvalidScheduleExpression) as info:
        parse(expression)
    assert info.value.message == f"Invalid Schedule Expression {expression}."


# Time zones and daylight saving


def test_cron_in_a_zone_is_local_wall_time() -> None:
    schedule = parse("cron(0 9 * * ? *)", "Europe/London")
    assert firings(schedule, at(2026, 1, 10), 1) == [at(2026, 1, 10, 9)]  # GMT
    assert firings(schedule, at(2026, 7, 10), 1) == [at(2026, 7, 10, 8)]  # BST


def test_spring_forward_skips_a_time_that_does_not_happen() -> None:
    # New York, 2026-03-08: 02:00 becomes 03:00, so 02:30 does not happen that day.
    schedule = parse("cron(30 2 * * ? *)", "America/New_York")
    assert local(schedule, at(2026, 3, 7, 12), 2) == ["2026-03-09 02:30 EDT", "2026-03-10 02:30 EDT"]


def test_spring_forward_keeps_the_hours_around_the_gap() -> None:
    schedule = parse("cron(0 * * * ? *)", "Europe/London")  # 2026-03-29: 01:00 GMT becomes 02:00 BST
    assert local(schedule, at(2026, 3, 28, 23, 30), 3) == [
        "2026-03-29 00:00 GMT", "2026-03-29 02:00 BST", "2026-03-29 03:00 BST"]  # fmt: skip


def test_fall_back_fires_a_repeated_time_once() -> None:
    # New York, 2026-11-01: 02:00 EDT becomes 01:00 EST, so 01:00-01:59 happens twice.
    schedule = parse("cron(30 1 * * ? *)", "America/New_York")
    assert local(schedule, at(2026, 10, 31, 12), 2) == ["2026-11-01 01:30 EDT", "2026-11-02 01:30 EST"]


def test_fall_back_every_quarter_hour_fires_each_local_time_once() -> None:
    schedule = parse("cron(0/15 1 * * ? *)", "Europe/London")  # 2026-10-25: 02:00 BST becomes 01:00 GMT
    assert local(schedule, at(2026, 10, 24, 12), 5) == [
        "2026-10-25 01:00 BST", "2026-10-25 01:15 BST", "2026-10-25 01:30 BST", "2026-10-25 01:45 BST",
        "2026-10-26 01:00 GMT",
    ]  # fmt: skip
    # Asked from inside the second pass, it does not go back to the first.
    assert local(schedule, at(2026, 10, 25, 1, 10), 1) == ["2026-10-26 01:00 GMT"]


# at()


def test_at_fires_once_at_its_local_time() -> None:
    schedule = parse("at(2026-07-04T09:30:00)", "America/New_York")
    assert schedule.one_time
    assert firings(schedule, at(2026, 1, 1), 2) == [at(2026, 7, 4, 13, 30)]
    assert schedule.next_after(at(2026, 7, 4, 13, 30)) is None


def test_at_in_utc_by_default() -> None:
    assert parse("at(2030-01-01T00:00:00)").next_after(at(2029, 1, 1)) == at(2030, 1, 1)


@pytest.mark.parametrize("expression", [
    "at(2026-13-01T00:00:00)", "at(2026-01-01 00:00:00)", "at(2026-01-01T00:00)", "at(tomorrow)",
])  # fmt: skip
def test_invalid_ats(expression: str) -> None:
    with pytest.raises(InvalidScheduleExpression):
        parse(expression)


def test_an_unknown_zone_is_refused() -> None:
    with pytest.raises(InvalidScheduleExpression) as info:
        parse("rate(1 day)", "Mars/Olympus_Mons")
    assert info.value.code == "ValidationException"
