"""Date arithmetic (民法典 Art. 201–202) and the date spellings offices use."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

EXCEL_EPOCH = date(1899, 12, 30)


def add_months(d: date, months: int) -> date:
    """``d`` plus ``months``; with no corresponding day, the last day of the month."""
    m = d.month - 1 + months
    y, m = d.year + m // 12, m % 12 + 1
    return date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def add_years(d: date, years: int) -> date:
    """``d`` plus ``years`` (29 February → 28 February in a common year)."""
    return add_months(d, 12 * years)


def full_years_done(start: date, years: int, as_of: date) -> bool:
    """True when ``years`` full years after ``start`` are complete on ``as_of``.

    The starting day is not counted and the period ends at the end of the corresponding day,
    so one full year after 2022-03-01 is complete on 2023-03-02, not on 2023-03-01.
    """
    return as_of > add_years(start, years)


def days(n: int) -> timedelta:
    return timedelta(days=n)


def iso(d: date | None) -> str:
    return d.isoformat() if d else ""


def slash(d: date | None) -> str:
    """2019/3/5"""
    return f"{d.year}/{d.month}/{d.day}" if d else ""


def dotted(d: date | None) -> str:
    """2019.03.05"""
    return f"{d.year}.{d.month:02d}.{d.day:02d}" if d else ""


def chinese(d: date | None) -> str:
    """2019年3月5日"""
    return f"{d.year}年{d.month}月{d.day}日" if d else ""


def compact(d: date | None) -> str:
    """20190305"""
    return f"{d.year}{d.month:02d}{d.day:02d}" if d else ""


def excel_serial(d: date | None) -> int | None:
    """Excel's serial day number (1900 date system)."""
    return (d - EXCEL_EPOCH).days if d else None
