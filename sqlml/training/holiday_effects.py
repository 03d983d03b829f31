"""Holiday effects of a daily series (ARIMA_PLUS's ``holiday_region``, issue 14): which days are
holidays comes from the ``holidays`` package (each country's public holidays); each holiday's
effect is the mean, over its occurrences in the history, of how far the day stands from the same
weekday one and two weeks either side, kept when it stands out from the day-to-day noise. The
effect is taken out of the series before it is cleaned and fitted, and added back on the
holiday's days in the forecast.

BigQuery's regions group countries; sqlml reads them as the union of these countries' holidays:
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

#: BigQuery's holiday regions, as countries (the union of their public holidays); GLOBAL: the
#: holidays these share (New Year's Day, Christmas).
REGIONS: dict[str, tuple[str, ...]] = {
    "NA": ("US", "CA", "MX"),
    "EMEA": ("GB", "DE", "FR", "IT", "ES", "NL", "AE", "ZA"),
    "JAPAC": ("JP", "AU", "CN", "IN", "KR", "SG", "NZ"),
    "LAC": ("BR", "AR", "MX", "CL", "CO", "PE"),
}
GLOBAL = {(1, 1): "New Year's Day", (12, 25): "Christmas Day"}
#: A holiday is kept when its mean effect is this many standard errors from none.
HOLIDAY_SIGMAS = 4.0


def unknown_regions(regions: list[str]) -> list[str]:
    """The regions neither BigQuery's groups nor a country the ``holidays`` package knows."""
    import holidays

    countries = set(holidays.list_supported_countries())
    return [
        r
        for r in regions
        if r.upper() not in REGIONS and r.upper() != "GLOBAL" and r.upper() not in countries
    ]


def calendar(regions: list[str], days: np.ndarray) -> dict[str, np.ndarray]:
    """Each holiday of ``regions`` falling on ``days`` (datetime64[D]): name -> positions."""
    import holidays

    years = sorted(
        {int(str(d)[:4]) for d in days[[0, -1]]}
        | set(range(int(str(days[0])[:4]), int(str(days[-1])[:4]) + 1))
    )
    named: dict[Any, set[str]] = defaultdict(set)
    for region in (r.upper() for r in regions):
        if region == "GLOBAL":
            for year in years:
                for (month, day), name in GLOBAL.items():
                    named[np.datetime64(f"{year:04d}-{month:02d}-{day:02d}")].add(name)
            continue
        for country in REGIONS.get(region, (region,)):
            for date, name in holidays.country_holidays(country, years=years).items():
                named[np.datetime64(date)].add(str(name).split(";")[0].strip())
    position = {d: i for i, d in enumerate(days.astype("datetime64[D]"))}
    out: dict[str, list[int]] = defaultdict(list)
    for date, names in named.items():
        if date in position:
            for name in names:
                out[name].append(position[date])
    return {name: np.asarray(sorted(set(p))) for name, p in out.items()}


def effects(
    history: np.ndarray, data: np.ndarray, ahead: np.ndarray, regions: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """The holiday effects on the ``history`` days (the series ``data``) and on the forecast's
    days ``ahead`` (both datetime64): zero where no holiday that stands out falls."""
    n = len(data)
    days = np.concatenate([history, ahead]).astype("datetime64[D]")
    found = calendar(regions, days)
    past, future = np.zeros(n), np.zeros(len(ahead))
    if not found or n < 5 * 7:
        return past, future
    around = np.full((4, n), np.nan)
    for row, shift in enumerate((-14, -7, 7, 14)):
        if shift > 0:
            around[row, :-shift] = data[shift:]
        else:
            around[row, -shift:] = data[:shift]
    deviation = data - np.nanmedian(around, axis=0)
    holiday_days = np.zeros(n, dtype=bool)
    for positions in found.values():
        holiday_days[positions[positions < n]] = True
    ordinary = deviation[~holiday_days]
    spread = 1.4826 * np.median(np.abs(ordinary - np.median(ordinary)))
    if spread == 0:
        return past, future
    for positions in found.values():
        seen = positions[positions < n]
        if len(seen) == 0:
            continue
        effect = float(np.mean(deviation[seen]))
        if abs(effect) > HOLIDAY_SIGMAS * spread / np.sqrt(len(seen)):
            past[seen] += effect
            future[positions[positions >= n] - n] += effect
    return past, future
