"""A fitted time series as a small ONNX graph (ARIMA_PLUS, issue 14): what the catalog stores per
series and EXPORT MODEL writes, and what the forecasting functions read back without a session."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sqlml.training.forecast import SeriesFit

#: A series' arrays in its ONNX graph: initializers named ``TABLE + name`` (see series_graph).
TABLE = "table_"


def series_graph(fit: SeriesFit, metadata: dict[str, str]) -> bytes:
    """One fitted series as a self-describing ONNX graph that bare ONNX Runtime can run: input
    ``step`` (int64, 1 … horizon) → ``forecast_timestamp`` (int64 seconds since 1970, UTC),
    ``forecast_value`` and ``standard_error`` (double) of those steps; the history on its grid
    (``history_*``: timestamps, data, trend, each season, spikes and dips) as constant outputs;
    ``metadata`` (the model's and the series' JSON) in its metadata_props."""
    from onnx import TensorProto, helper, numpy_helper

    tables = {
        "forecast_timestamp": fit.times.astype("datetime64[s]").astype(np.int64),
        "forecast_value": fit.values.astype(np.float64),
        "standard_error": fit.standard_errors.astype(np.float64),
    }
    if fit.forecast_holiday_effect is not None:
        tables["forecast_holiday_effect"] = fit.forecast_holiday_effect.astype(np.float64)
    history = {
        f"history_{name}": (
            values.astype("datetime64[s]").astype(np.int64)
            if name == "time"
            else np.asarray(values, dtype=np.float64)
        )
        for name, values in fit.history.items()
    }
    initializers = [numpy_helper.from_array(v, TABLE + k) for k, v in (tables | history).items()]
    initializers.append(numpy_helper.from_array(np.array(1, dtype=np.int64), "one"))
    nodes = [helper.make_node("Sub", ["step", "one"], ["index"])]
    nodes += [helper.make_node("Gather", [TABLE + k, "index"], [k], axis=0) for k in tables]
    nodes += [helper.make_node("Identity", [TABLE + k], [k]) for k in history]

    def output(name: str, array: np.ndarray, rows: Any) -> Any:
        kind = TensorProto.INT64 if array.dtype == np.int64 else TensorProto.DOUBLE
        return helper.make_tensor_value_info(name, kind, [rows])

    graph = helper.make_graph(
        nodes,
        "sqlml_arima_plus_series",
        [helper.make_tensor_value_info("step", TensorProto.INT64, ["N"])],
        [output(k, v, "N") for k, v in tables.items()]
        + [output(k, v, len(v)) for k, v in history.items()],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    model.producer_name = "sqlml"
    model.doc_string = (
        "An ARIMA_PLUS time series: run with step = [1, 2, ...] for its forecast "
        "(timestamps in seconds since 1970 UTC); the history outputs decompose its past."
    )
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    return model.SerializeToString()


def series_arrays(onnx_bytes: bytes) -> dict[str, np.ndarray]:
    """The arrays :func:`series_graph` stored, by name (``forecast_value``, ``history_trend``,
    …), read from the graph's initializers without a session."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load_model_from_string(onnx_bytes)
    return {
        t.name[len(TABLE) :]: numpy_helper.to_array(t)
        for t in model.graph.initializer
        if t.name.startswith(TABLE)
    }
