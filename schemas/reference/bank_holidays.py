#!/usr/bin/env python3
"""Writes data/bank_holidays.csv: England and Wales bank holidays, 2015 to 2030.

The usual rules (Easter by the Gregorian computus; first and last Mondays of May, last Monday of
August; weekend New Year, Christmas and Boxing Days moved to the next free weekday) plus the
one-off changes proclaimed for 2020, 2022 and 2023. Names follow
https://www.gov.uk/bank-holidays.json (with straight apostrophes); notes say which days are
substitutes, moved or extra.

Years after the last one gov.uk publishes are marked provisional: a proclamation can still move
or add a day. When gov.uk publishes a new year, check it against this file and move LAST_PUBLISHED.

    python3 schemas/reference/bank_holidays.py [FIRST LAST]   (default 2015 2030)
"""
import csv
import datetime as dt
import os
import sys

LAST_PUBLISHED = 2027  # last year whose dates were checked against gov.uk's published list

# One-off changes: (date the rule gives, or None for an extra day) -> (new date, name, notes)
MOVED = {
    dt.date(2020, 5, 4): (dt.date(2020, 5, 8), "Early May bank holiday (VE day)", "Moved from Monday 4 May"),
    dt.date(2022, 5, 30): (dt.date(2022, 6, 2), "Spring bank holiday", "Moved from Monday 30 May"),
}
EXTRA = [
    (dt.date(2022, 6, 3), "Platinum Jubilee bank holiday", "Extra bank holiday"),
    (dt.date(2022, 9, 19), "Bank Holiday for the State Funeral of Queen Elizabeth II", "Extra bank holiday"),
    (dt.date(2023, 5, 8), "Bank holiday for the coronation of King Charles III", "Extra bank holiday"),
]


def easter(year: int) -> dt.date:
    """Easter Sunday (anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def first_monday(year: int, month: int) -> dt.date:
    d = dt.date(year, month, 1)
    return d + dt.timedelta(days=(7 - d.weekday()) % 7)


def last_monday(year: int, month: int) -> dt.date:
    d = dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)
    return d - dt.timedelta(days=d.weekday())


def year_holidays(year: int):
    """(date, name, notes) for one year, in date order."""
    out = []
    taken = set()

    def add(day, name, notes=""):
        out.append((day, name, notes))
        taken.add(day)

    def next_free_weekday(day):
        while day.weekday() >= 5 or day in taken:
            day += dt.timedelta(days=1)
        return day

    new_year = dt.date(year, 1, 1)
    if new_year.weekday() >= 5:
        add(next_free_weekday(new_year), "New Year's Day", "Substitute day")
    else:
        add(new_year, "New Year's Day")
    e = easter(year)
    add(e - dt.timedelta(days=2), "Good Friday")
    add(e + dt.timedelta(days=1), "Easter Monday")
    for day, name in [
        (first_monday(year, 5), "Early May bank holiday"),
        (last_monday(year, 5), "Spring bank holiday"),
        (last_monday(year, 8), "Summer bank holiday"),
    ]:
        if day in MOVED:
            add(*MOVED[day])
        else:
            add(day, name)
    for day, name, notes in EXTRA:
        if day.year == year:
            add(day, name, notes)
    # Christmas and Boxing Day: a day that falls at a weekend moves to the next weekday not
    # already a holiday (Christmas on a Sunday: Boxing Day Monday 26, Christmas Tuesday 27).
    christmas, boxing = dt.date(year, 12, 25), dt.date(year, 12, 26)
    for day, name in [(christmas, "Christmas Day"), (boxing, "Boxing Day")]:
        if day.weekday() < 5:
            add(day, name)
    for day, name in [(christmas, "Christmas Day"), (boxing, "Boxing Day")]:
        if day.weekday() >= 5:
            add(next_free_weekday(day), name, "Substitute day")
    return sorted(out)


def main():
    first, last = (int(a) for a in sys.argv[1:3]) if len(sys.argv) >= 3 else (2015, 2030)
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "data", "bank_holidays.csv")
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["date", "name", "division", "notes", "provisional"])
        for year in range(first, last + 1):
            for day, name, notes in year_holidays(year):
                assert day.weekday() < 5, (day, name)
                w.writerow([day.isoformat(), name, "england-and-wales", notes, str(year > LAST_PUBLISHED).lower()])
    print(path)


if __name__ == "__main__":
    main()
