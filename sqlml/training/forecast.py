"""One time series fitted as BigQuery ML's ARIMA_PLUS describes its pipeline (issue 14): the series
put on a regular grid of its frequency (gaps and NULLs interpolated), spikes and dips cleaned, its
seasonal periods detected and decomposed (MSTL), and the deseasonalized rest forecast by a
non-seasonal ARIMA — chosen automatically (``auto_arima``, orders up to ``auto_arima_max_order``)
or the order given (``non_seasonal_order``) — with the seasonal components carried forward.

The statistics are statsforecast's (``MSTL`` with an ``AutoARIMA`` or ``ARIMA`` trend forecaster);
measured on a 730-day series with weekly seasonality on this machine: the season handled inside
``AutoARIMA(season_length=7)`` takes 1.8 s a series (0.3 s with ``approximation``), MSTL plus a
non-seasonal AutoARIMA 0.5 s with yearly seasonality too — and that split is ARIMA_PLUS's own. The
search is exact (no ``approximation``): on a simulated AR(1) the approximate one picked AR(2).

Duplicate timestamps are averaged (as BigQuery does). A series that cannot be fitted (too short,
constant, off any frequency's grid, a failed fit) gives a
:class:`SeriesFit` with ``error_message`` instead of raising, as BigQuery's rows do. The forecast,
its standard errors and the decomposition are computed here, once, so that ML.FORECAST and
ML.EXPLAIN_FORECAST read stored numbers.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: BigQuery's DATA_FREQUENCY values and their step (numpy's unit and count).
FREQUENCIES: dict[str, tuple[str, int]] = {
    "PER_MINUTE": ("m", 1),
    "HOURLY": ("h", 1),
    "DAILY": ("D", 1),
    "WEEKLY": ("D", 7),
    "MONTHLY": ("M", 1),
    "QUARTERLY": ("M", 3),
    "YEARLY": ("M", 12),
}
#: The seasonal periods looked for at each frequency, as ARIMA_EVALUATE names them.
SEASONS: dict[str, tuple[tuple[str, int], ...]] = {
    "PER_MINUTE": (("DAILY", 1440),),
    "HOURLY": (("DAILY", 24), ("WEEKLY", 168)),
    "DAILY": (("WEEKLY", 7), ("YEARLY", 365)),
    "WEEKLY": (("YEARLY", 52),),
    "MONTHLY": (("QUARTERLY", 3), ("YEARLY", 12)),
    "QUARTERLY": (("YEARLY", 4),),
    "YEARLY": (),
}
#: A season is kept when its strength (1 - Var(remainder) / Var(season + remainder), Hyndman &
#: Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed., §4.2) reaches this.
SEASON_STRENGTH = 0.3
#: A season is looked for when the series spans this many of its periods (as R's mstl): with
#: fewer, its estimate is little more than the data itself — a 600-day AR(1) series without any
#: season came out "yearly" at 1.5 periods, its variance a third of the true one.
SEASON_SPAN = 2
#: The fewest points a series is fitted from (BigQuery's limit: three time points).
MIN_POINTS = 3
#: A point is a spike or a dip when it is this many robust standard deviations (1.4826 × the
#: median absolute deviation) from the rolling median of its neighbours.
SPIKE_SIGMAS = 4.0
_Z95 = 1.959963984540054


@dataclass
class SeriesFit:
    """One series' ARIMA_PLUS model: what ML.ARIMA_EVALUATE, ML.ARIMA_COEFFICIENTS, ML.FORECAST and
    ML.EXPLAIN_FORECAST return for it (``error_message`` set: only that)."""

    error_message: str = ""
    frequency: str = ""
    points: int = 0
    seasonal_periods: list[str] = field(default_factory=list)
    order: tuple[int, int, int] = (0, 0, 0)
    has_drift: bool = False
    log_likelihood: float | None = None
    aic: float | None = None
    variance: float | None = None
    ar: list[float] = field(default_factory=list)
    ma: list[float] = field(default_factory=list)
    intercept_or_drift: float = 0.0
    has_spikes_and_dips: bool = False
    has_holiday_effect: bool = False
    #: the holidays' part of each forecast step (with holiday_region; None without any)
    forecast_holiday_effect: np.ndarray | None = None
    #: the forecast: timestamps (datetime64), values and standard errors, one per step
    times: np.ndarray = field(default_factory=lambda: np.array([], dtype="datetime64[s]"))
    values: np.ndarray = field(default_factory=lambda: np.array([]))
    standard_errors: np.ndarray = field(default_factory=lambda: np.array([]))
    #: the history on its grid: timestamps, the data as given (NaN where filled), the trend,
    #: each season's component, and the spikes and dips removed (0 elsewhere)
    history: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.error_message

    def interval(self, confidence_level: float) -> tuple[np.ndarray, np.ndarray]:
        """The prediction interval of each forecast step at ``confidence_level`` (normal errors,
        as the ARIMA's own intervals)."""
        from statistics import NormalDist

        z = NormalDist().inv_cdf(0.5 + confidence_level / 2)
        return self.values - z * self.standard_errors, self.values + z * self.standard_errors


def infer_frequency(times: np.ndarray) -> str | None:
    """The DATA_FREQUENCY of sorted, distinct ``times`` (datetime64): the most common step, or
    None when no step is one of BigQuery's frequencies."""
    seconds = np.diff(times.astype("datetime64[s]").astype(np.int64))
    if len(seconds) == 0:
        return None
    values, counts = np.unique(seconds, return_counts=True)
    step = int(values[np.argmax(counts)])
    day = 86_400
    table = [
        ("PER_MINUTE", 60, 60),
        ("HOURLY", 3600, 3600),
        ("DAILY", day, day),
        ("WEEKLY", 7 * day, 7 * day),
        ("MONTHLY", 28 * day, 31 * day),
        ("QUARTERLY", 89 * day, 92 * day),
        ("YEARLY", 365 * day, 366 * day),
    ]
    return next((name for name, low, high in table if low <= step <= high), None)


def grid(start: np.datetime64, end: np.datetime64, frequency: str) -> np.ndarray:
    """The timestamps from ``start`` to ``end`` (included) one step of ``frequency`` apart."""
    unit, count = FREQUENCIES[frequency]
    if unit == "M":  # calendar months: keep the day and time within the month
        months = start.astype("datetime64[M]")
        offset = start - months.astype(start.dtype)
        n = int((end.astype("datetime64[M]") - months).astype(int)) // count + 1
        steps = months + np.arange(n) * count
        return (steps.astype(start.dtype) + offset).astype(start.dtype)
    step = np.timedelta64(count, unit).astype(f"timedelta64[{np.datetime_data(start.dtype)[0]}]")
    n = int((end - start) // step) + 1
    return start + np.arange(n) * step


def future(last: np.datetime64, frequency: str, horizon: int) -> np.ndarray:
    """``horizon`` timestamps after ``last``, one step of ``frequency`` apart."""
    unit, count = FREQUENCIES[frequency]
    if unit == "M":
        months = last.astype("datetime64[M]")
        offset = last - months.astype(last.dtype)
        steps = months + np.arange(1, horizon + 1) * count
        return (steps.astype(last.dtype) + offset).astype(last.dtype)
    step = np.timedelta64(count, unit).astype(f"timedelta64[{np.datetime_data(last.dtype)[0]}]")
    return last + np.arange(1, horizon + 1) * step


def fit_series(
    times: np.ndarray,
    values: np.ndarray,
    *,
    horizon: int = 1000,
    frequency: str = "AUTO_FREQUENCY",
    auto_arima: bool = True,
    auto_arima_max_order: int = 5,
    non_seasonal_order: tuple[int, int, int] | None = None,
    include_drift: bool = False,
    clean_spikes_and_dips: bool = True,
    decompose: bool = True,
    holiday_region: list[str] | None = None,
    time_series_length_fraction: float | None = None,
    min_time_series_length: int = 20,
    max_time_series_length: int | None = None,
    seasonalities: list[str] | None = None,
    trend_smoothing_window_size: int | None = None,
) -> SeriesFit:
    """Fit one series (``times`` datetime64, ``values`` float with NaN for NULL; any order).
    With ``holiday_region``, a daily series longer than a year has its holidays' effects
    (:mod:`sqlml.training.holiday_effects`) taken out before it is cleaned and fitted, and added
    back on the forecast's holidays, as BigQuery's ARIMA_PLUS does."""
    times = np.asarray(times).astype("datetime64[s]")
    values = np.asarray(values, dtype=np.float64)
    keep = ~np.isnat(times)
    times, values = times[keep], values[keep]
    order = np.argsort(times, kind="stable")
    times, values = times[order], values[order]
    if len(times) and (np.diff(times.astype(np.int64)) == 0).any():
        times, values = _mean_of_duplicates(times, values)  # BigQuery: "take the mean value"
    known = ~np.isnan(values)
    if known.sum() < MIN_POINTS:
        return SeriesFit(
            error_message=f"the series has {int(known.sum())} non-NULL points; ARIMA_PLUS needs "
            f"at least {MIN_POINTS}"
        )
    if frequency == "AUTO_FREQUENCY":
        found = infer_frequency(times)
        if found is None:
            return SeriesFit(
                error_message="the series' time step is none of the data frequencies; set "
                "data_frequency"
            )
        frequency = found
    on_grid = grid(times[0], times[-1], frequency)
    position = np.searchsorted(on_grid, times)
    exact = (position < len(on_grid)) & (on_grid[np.minimum(position, len(on_grid) - 1)] == times)
    if not exact.all():
        return SeriesFit(
            error_message=f"the series' timestamps are not on a {frequency.lower()} grid; set "
            "data_frequency or aggregate the timestamps"
        )
    data = np.full(len(on_grid), np.nan)
    data[position] = values
    filled = _interpolate(data)
    if np.ptp(filled) == 0:
        return SeriesFit(error_message="the series is constant; there is nothing to forecast")
    fit = SeriesFit(frequency=frequency, points=len(on_grid))
    fit.times = future(on_grid[-1], frequency, horizon)
    holiday, ahead = np.zeros(len(filled)), np.zeros(horizon)
    if holiday_region and frequency == "DAILY" and len(filled) > 365:
        from sqlml.training.holiday_effects import effects

        holiday, ahead = effects(on_grid, filled, fit.times, holiday_region)
        fit.has_holiday_effect = bool(holiday.any() or ahead.any())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # statsforecast's convergence notes: the fit stands
            rest = filled - holiday
            cleaned, seasons, parts = _clean_and_decompose(
                rest, frequency, clean_spikes_and_dips, seasonalities
            )
            fit.has_spikes_and_dips = bool((rest != cleaned).any())
            _fit(
                fit,
                cleaned,
                seasons,
                parts,
                horizon,
                auto_arima,
                auto_arima_max_order,
                non_seasonal_order,
                include_drift,
                _trend_points(
                    len(cleaned),
                    time_series_length_fraction,
                    min_time_series_length,
                    max_time_series_length,
                ),
            )
            fit.history["spikes_and_dips"] = rest - cleaned
            if trend_smoothing_window_size:  # EXPLAIN_FORECAST's trend only, not the forecast
                fit.history["trend"] = _smoothed(fit.history["trend"], trend_smoothing_window_size)
            if fit.has_holiday_effect:
                fit.values = fit.values + ahead
                fit.history["holiday_effect"] = holiday
                fit.forecast_holiday_effect = ahead
    except (ValueError, np.linalg.LinAlgError, ZeroDivisionError) as exc:
        return SeriesFit(error_message=f"the ARIMA fit failed: {exc}")
    if decompose:
        fit.history["time"] = on_grid
        fit.history["data"] = data
    else:
        fit.history = {}
    return fit


def _smoothed(values: np.ndarray, window: int) -> np.ndarray:
    """A centered moving average of ``window`` points, the edges padded with the first and last
    value (BigQuery's trend_smoothing_window_size)."""
    before, after = (window - 1) // 2, window // 2
    padded = np.concatenate([np.full(before, values[0]), values, np.full(after, values[-1])])
    return np.convolve(padded, np.ones(window) / window, mode="valid")


def _trend_points(n: int, fraction: float | None, minimum: int, maximum: int | None) -> int | None:
    """How many of the last points the ARIMA is fitted on: BigQuery's max_time_series_length,
    or time_series_length_fraction of them but at least min_time_series_length (all of a series
    shorter than that); None: all."""
    if maximum is not None:
        return min(n, maximum)
    if fraction is not None:
        return n if n < minimum else max(int(fraction * n), minimum)
    return None


def _mean_of_duplicates(times: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted ``times`` made distinct, each value the mean of its time's non-NULL values (NaN if
    it has none)."""
    distinct, first = np.unique(times, return_index=True)
    which = np.repeat(np.arange(len(distinct)), np.diff(np.append(first, len(times))))
    known = ~np.isnan(values)
    sums = np.bincount(which, weights=np.where(known, values, 0.0), minlength=len(distinct))
    counts = np.bincount(which, weights=known.astype(float), minlength=len(distinct))
    with np.errstate(invalid="ignore", divide="ignore"):
        return distinct, np.where(counts > 0, sums / counts, np.nan)


def _interpolate(data: np.ndarray) -> np.ndarray:
    """NaN points linearly interpolated (the ends: the nearest known value)."""
    known = ~np.isnan(data)
    if known.all():
        return data.copy()
    x = np.arange(len(data))
    return np.interp(x, x[known], data[known])


def _spikes(data: np.ndarray, period: int | None) -> np.ndarray:
    """What to subtract from the series to remove its spikes and dips: isolated points more than
    :data:`SPIKE_SIGMAS` robust standard deviations (1.4826 × the median absolute deviation)
    from what their neighbours say, each moved to that value.

    With a season of ``period`` the series spans three times, a point's neighbours are the same
    phase one and two periods either side (their median), so a season's regular peaks are not
    spikes, and a spike does not leak into the seasonal estimate (it is removed before the
    decomposition). Without one, a spike is a step away from the point before and a step back to
    the one after: steps, not levels, so a random walk's wanderings are not spikes; it is moved
    to the mean of its neighbours."""
    n = len(data)
    removed = np.zeros(n)
    if period is None or n < 3 * period:
        steps = np.diff(data)
        if len(steps) < 2:
            return removed
        spread = 1.4826 * np.median(np.abs(steps - np.median(steps)))
        if spread == 0:
            return removed
        before, after = steps[:-1], steps[1:]
        limit = SPIKE_SIGMAS * spread
        jump = (np.abs(before) > limit) & (np.abs(after) > limit)
        inner = np.flatnonzero(jump & (np.sign(before) != np.sign(after))) + 1
        removed[inner] = data[inner] - (data[inner - 1] + data[inner + 1]) / 2
        return removed
    around = np.full((4, n), np.nan)
    for row, shift in enumerate((-2 * period, -period, period, 2 * period)):
        if shift > 0:
            around[row, :-shift] = data[shift:]
        else:
            around[row, -shift:] = data[:shift]
    deviation = data - np.nanmedian(around, axis=0)
    center = np.median(deviation)
    spread = 1.4826 * np.median(np.abs(deviation - center))
    if spread == 0:
        return removed
    side = np.sign(deviation - center) * (np.abs(deviation - center) > SPIKE_SIGMAS * spread)
    shifted = np.concatenate([[0], side[:-1]]), np.concatenate([side[1:], [0]])
    isolated = (side != 0) & (shifted[0] != side) & (shifted[1] != side)
    removed[isolated] = deviation[isolated] - center
    return removed


def _decompose(data: np.ndarray, periods: list[int]) -> dict[str, np.ndarray]:
    """``data``'s MSTL decomposition (statsforecast's): ``trend``, ``remainder`` and each
    period's seasonal component (by its period, as text)."""
    from statsforecast.mstl import mstl

    parts = mstl(data, periods if len(periods) > 1 else periods[0])
    out = {"trend": parts["trend"].to_numpy(), "remainder": parts["remainder"].to_numpy()}
    for p in periods:
        out[str(p)] = parts["seasonal" if len(periods) == 1 else f"seasonal{p}"].to_numpy()
    return out


#: The periods of the seasons SEASONALITIES may name, per frequency (beyond those looked for).
NAMED_SEASONS: dict[str, dict[str, int]] = {
    "PER_MINUTE": {"DAILY": 1440},
    "HOURLY": {"DAILY": 24, "WEEKLY": 168},
    "DAILY": {"WEEKLY": 7, "MONTHLY": 30, "QUARTERLY": 91, "YEARLY": 365},
    "WEEKLY": {"MONTHLY": 4, "QUARTERLY": 13, "YEARLY": 52},
    "MONTHLY": {"QUARTERLY": 3, "YEARLY": 12},
    "QUARTERLY": {"YEARLY": 4},
    "YEARLY": {},
}


def _clean_and_decompose(
    filled: np.ndarray, frequency: str, clean: bool, named: list[str] | None = None
) -> tuple[np.ndarray, list[tuple[str, int]], dict[str, np.ndarray]]:
    """The series with its spikes and dips removed (``clean``, :func:`_spikes`), the seasons
    strong enough to keep (see :data:`SEASON_STRENGTH`), and the cleaned series' decomposition by
    those seasons (empty without any): the seasons of the frequency that the series spans
    :data:`SEASON_SPAN` times are decomposed at once, and again without the ones too weak."""
    given = named is not None and named != ["AUTO"]  # SEASONALITIES: these, no detection
    if given:
        periods = NAMED_SEASONS[frequency]
        candidates = sorted(
            ((n, periods[n]) for n in named or [] if n in periods), key=lambda season: season[1]
        )  # a season finer than the data (hourly data's DAILY at a daily frequency) is ignored
    else:
        candidates = list(SEASONS[frequency])
    candidates = [(name, p) for name, p in candidates if len(filled) >= SEASON_SPAN * p]
    cleaned = filled
    if clean:  # before the decomposition: a spike would leak into its season's estimate
        cleaned = filled - _spikes(filled, candidates[0][1] if candidates else None)
    seasons: list[tuple[str, int]] = []
    parts: dict[str, np.ndarray] = {}
    if candidates:
        parts = _decompose(cleaned, [p for _, p in candidates])
        for name, p in candidates:
            spread = np.var(parts[str(p)] + parts["remainder"])
            strong = spread > 0 and 1 - np.var(parts["remainder"]) / spread >= SEASON_STRENGTH
            if strong or given:
                seasons.append((name, p))
        if seasons != candidates:
            parts = _decompose(cleaned, [p for _, p in seasons]) if seasons else {}
    return cleaned, seasons, parts


def _fit(
    fit: SeriesFit,
    data: np.ndarray,
    seasons: list[tuple[str, int]],
    parts: dict[str, np.ndarray],
    horizon: int,
    auto_arima: bool,
    max_order: int,
    order: tuple[int, int, int] | None,
    include_drift: bool,
    trend_points: int | None = None,
) -> None:
    """The ARIMA on ``data`` without its seasons (its last ``trend_points`` points only, when
    given: BigQuery's time_series_length_fraction / max_time_series_length), forecast
    ``horizon`` steps, each season carried forward from its last period (as statsforecast's
    MSTL forecasts)."""
    from statsforecast.models import ARIMA, AutoARIMA

    fit.seasonal_periods = [name for name, _ in seasons] or ["NO_SEASONALITY"]
    if auto_arima:
        model: Any = AutoARIMA(
            max_p=max_order,
            max_q=max_order,
            max_order=max_order,
            seasonal=False,
            approximation=False,
            allowdrift=True,
            ic="aic",  # BigQuery: "the one with the lowest AIC"
        )
    else:
        model = ARIMA(order=order or (0, 0, 0), include_drift=include_drift)
    n = len(data)
    components = {name: parts[str(p)] for name, p in seasons}
    seasonal = sum(components.values(), np.zeros(n))
    rest = data - seasonal
    model.fit(rest[-trend_points:] if trend_points else rest)
    arima = model.model_
    predicted = model.predict(h=horizon, level=[95])
    ahead = sum(
        (parts[str(p)][n - p + np.arange(horizon) % p] for _, p in seasons), np.zeros(horizon)
    )
    mean = np.asarray(predicted["mean"], dtype=np.float64)
    high = np.asarray(predicted["hi-95"], dtype=np.float64)
    fit.values = mean + ahead
    fit.standard_errors = np.maximum((high - mean) / _Z95, 0.0)
    p, q, _, _, _, d, _ = (int(v) for v in arima["arma"])
    fit.order = (p, d, q)
    coef = {k: float(v) for k, v in arima["coef"].items()}
    fit.ar = [coef[f"ar{i}"] for i in range(1, p + 1)]
    fit.ma = [coef[f"ma{i}"] for i in range(1, q + 1)]
    fit.has_drift = "drift" in coef
    fit.intercept_or_drift = coef.get("drift", coef.get("intercept", 0.0))
    fit.log_likelihood = _number(arima.get("loglik"))
    fit.aic = _number(arima.get("aic"))
    fit.variance = _number(arima.get("sigma2"))
    fit.history = {
        "trend": parts["trend"] if seasons else data,
        **{f"seasonal_{k.lower()}": v for k, v in components.items()},
    }


def _number(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None


def fit_many(
    table: Any,
    ids: list[str],
    timestamp: str,
    data: str,
    options: dict[str, Any],
    workers: int | None = None,
) -> list[tuple[tuple[Any, ...], int, SeriesFit]]:
    """Every series of ``table`` (an Arrow table; one series per distinct value of the ``ids``
    columns, NULL a value of its own, or the whole table without ids) fitted by
    :func:`fit_series` with ``options`` — (key, rows, fit) in the order of the ids — in the training pool of
    :mod:`sqlml.training.groups` (spawned processes over the cores; in this process for few rows
    or ``workers = 1``). A series whose fit raises is an error row, as one that cannot be fitted."""
    import os

    from sqlml import progress
    from sqlml.training import groups

    keep = [*ids, timestamp, data]
    series = groups.split_groups(table.select(keep), ids) if ids else [((), table.select(keep))]
    progress.stage("fitting one model per time series", len(series), "series")
    size = min(workers or os.cpu_count() or 1, len(series))
    arguments = (timestamp, data, options)
    fits: dict[tuple[Any, ...], SeriesFit] = {}
    if size > 1 and (workers is not None or table.num_rows >= groups.POOL_MIN_ROWS):
        fits = groups.in_pool(series, _fit_ipc, arguments, size, fit_or_error)
    from sqlml.cancel import checkpoint

    for key, part in series:
        if key not in fits:
            checkpoint()  # a cancel or a timeout stops between series
            fits[key] = fit_or_error(
                key, part.num_rows, lambda part=part: fit_rows(part, *arguments)
            )
            progress.advance()
    return [(key, part.num_rows, fits[key]) for key, part in series]


def fit_rows(part: Any, timestamp: str, data: str, options: dict[str, Any]) -> SeriesFit:
    import pyarrow as pa
    import pyarrow.compute as pc

    times = part.column(timestamp)
    if pa.types.is_date(times.type):
        times = pc.cast(times, pa.timestamp("s"))
    values = pc.cast(part.column(data), pa.float64()).to_numpy(zero_copy_only=False)
    return fit_series(times.to_numpy(zero_copy_only=False), values, **options)


def _fit_ipc(payload: bytes, timestamp: str, data: str, options: dict[str, Any]) -> SeriesFit:
    """In a pool worker: one series' rows (Arrow IPC) fitted."""
    import pyarrow as pa

    return fit_rows(pa.ipc.open_stream(payload).read_all(), timestamp, data, options)


def fit_or_error(key: tuple[Any, ...], rows: int, result: Any) -> SeriesFit:
    from concurrent.futures.process import BrokenProcessPool

    from sqlml.errors import OperationalError

    try:
        return result()
    except (OperationalError, BrokenProcessPool):  # a cancel or a timeout stops every series;
        raise  # a pool that could not start leaves its series to this process
    except Exception as exc:  # noqa: BLE001 — BigQuery's error row, not a failed statement
        import logging

        logging.getLogger("sqlml.training").warning("time series %r: %s", key, exc)
        return SeriesFit(error_message=f"the fit failed: {type(exc).__name__}: {exc}")


@dataclass
class SeriesResult:
    """A series as the catalog stores it: its key and row count, and its error message, or its
    fitted parameters (what ML.ARIMA_EVALUATE and ML.ARIMA_COEFFICIENTS read) and its graph."""

    key: tuple[Any, ...]
    rows: int
    error: str = ""
    spec: dict[str, Any] = field(default_factory=dict)
    onnx: bytes | None = None


def series_spec(fit: SeriesFit) -> dict[str, Any]:
    """What ML.ARIMA_EVALUATE and ML.ARIMA_COEFFICIENTS read of a fitted series."""
    p, d, q = fit.order
    return {
        "frequency": fit.frequency,
        "points": fit.points,
        "non_seasonal_p": p,
        "non_seasonal_d": d,
        "non_seasonal_q": q,
        "has_drift": fit.has_drift,
        "log_likelihood": fit.log_likelihood,
        "AIC": fit.aic,
        "variance": fit.variance,
        "seasonal_periods": fit.seasonal_periods,
        "has_holiday_effect": fit.has_holiday_effect,
        "has_spikes_and_dips": fit.has_spikes_and_dips,
        "has_step_changes": False,
        "ar_coefficients": fit.ar,
        "ma_coefficients": fit.ma,
        "intercept_or_drift": 0.0 if d == 2 else fit.intercept_or_drift,
    }


def series_result(
    key: tuple[Any, ...],
    rows: int,
    fit: SeriesFit,
    base: dict[str, str],
    id_cols: list[dict[str, str]],
) -> SeriesResult:
    """``fit`` as stored: its spec, and its graph with ``base`` (the model's name and version),
    its id and its spec in the graph's metadata."""
    import json

    from sqlml.catalog import encode_key

    if not fit.ok:
        return SeriesResult(key, rows, fit.error_message)
    spec = series_spec(fit)
    metadata = base | {
        "sqlml.time_series_id": encode_key(key),
        "sqlml.time_series_id_cols": json.dumps(id_cols),
        "sqlml.spec": json.dumps(spec),
    }
    from sqlml.training.forecast_graph import series_graph

    return SeriesResult(key, rows, spec=spec, onnx=series_graph(fit, metadata))
