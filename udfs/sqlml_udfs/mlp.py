"""The loss and gradient of an MLP regressor over a partition's rows, for L-BFGS on Spark.

MLlib has no MLP regressor, so sqlml trains one the way MLlib trains its MultilayerPerceptron-
Classifier: L-BFGS on the driver, where every loss + gradient evaluation is one Spark job. The
weights travel in the job's closure; each partition runs the forward and backward pass in numpy
over its Arrow batches and returns its partial sums, which the driver adds.

The network and objective are scikit-learn's ``MLPRegressor`` (ReLU hidden layers, identity
output, squared error, L2 penalty ``alpha`` on the weights but not the biases), so the fitted
weights drop into one and convert to ONNX as the DuckDB path's do:

    loss = sum((f(x) - y)^2) / (2 n) + alpha / (2 n) * sum(||W||^2)

Parameters are packed as scikit-learn packs them: every layer's weight matrix (fan_in x fan_out,
row-major), then every layer's bias. numpy and pyarrow only: executors have no sqlml installed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pyarrow as pa

from sqlml_udfs.moments import columns_matrix

#: The one-row batch each partition returns.
GRADIENT_SCHEMA = pa.schema(
    [
        pa.field("count", pa.int64()),
        pa.field("loss", pa.float64()),
        pa.field("gradient", pa.list_(pa.float64())),
    ]
)

Layers = list[tuple[np.ndarray, np.ndarray]]


def parameter_count(sizes: list[int]) -> int:
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=False))


def unpack(theta: np.ndarray, sizes: list[int]) -> Layers:
    """The flat vector as (weights, bias) per layer (views, not copies)."""
    pairs = list(zip(sizes[:-1], sizes[1:], strict=False))
    weights, offset = [], 0
    for fan_in, fan_out in pairs:
        weights.append(theta[offset : offset + fan_in * fan_out].reshape(fan_in, fan_out))
        offset += fan_in * fan_out
    biases = []
    for _, fan_out in pairs:
        biases.append(theta[offset : offset + fan_out])
        offset += fan_out
    return list(zip(weights, biases, strict=True))


def pack(layers: Layers) -> np.ndarray:
    return np.concatenate([w.ravel() for w, _ in layers] + [b.ravel() for _, b in layers])


def initial_weights(sizes: list[int], seed: int) -> np.ndarray:
    """scikit-learn's Glorot-uniform start: weights and biases in +-sqrt(6 / (fan_in + fan_out))
    (drawn from numpy's Generator, so not the very numbers scikit-learn would draw)."""
    rng = np.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=False):
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        layers.append(
            (rng.uniform(-bound, bound, (fan_in, fan_out)), rng.uniform(-bound, bound, fan_out))
        )
    return pack(layers)


def predict(x: np.ndarray, theta: np.ndarray, sizes: list[int]) -> np.ndarray:
    activation = x
    layers = unpack(theta, sizes)
    for index, (w, b) in enumerate(layers):
        activation = activation @ w + b
        if index < len(layers) - 1:
            np.maximum(activation, 0.0, out=activation)
    return activation[:, 0]


def partial_loss_gradient(
    x: np.ndarray, y: np.ndarray, theta: np.ndarray, sizes: list[int]
) -> tuple[float, np.ndarray]:
    """Half the sum of squared errors over these rows, and its gradient (sums, not means: the
    driver divides by the total row count once all partitions are in)."""
    layers = unpack(theta, sizes)
    activations = [x]
    for index, (w, b) in enumerate(layers):
        z = activations[-1] @ w + b
        activations.append(np.maximum(z, 0.0) if index < len(layers) - 1 else z)
    delta = activations[-1] - y.reshape(-1, 1)
    loss = 0.5 * float(np.sum(delta**2))
    weight_grads: list[np.ndarray] = [np.empty(0)] * len(layers)
    bias_grads: list[np.ndarray] = [np.empty(0)] * len(layers)
    for index in range(len(layers) - 1, -1, -1):
        weight_grads[index] = activations[index].T @ delta
        bias_grads[index] = delta.sum(axis=0)
        if index:
            delta = (delta @ layers[index][0].T) * (activations[index] > 0)
    return loss, np.concatenate([g.ravel() for g in weight_grads] + [g.ravel() for g in bias_grads])


def objective(
    loss_sum: float,
    gradient_sum: np.ndarray,
    count: int,
    theta: np.ndarray,
    sizes: list[int],
    alpha: float,
) -> tuple[float, np.ndarray]:
    """The partitions' sums as scikit-learn's objective: means, plus the L2 penalty on the
    weights (``alpha / (2 n) * sum(||W||^2)``, as MLPRegressor scales it)."""
    n = max(count, 1)
    weight_count = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
    w = theta[:weight_count]
    loss = loss_sum / n + 0.5 * alpha * float(w @ w) / n
    gradient = gradient_sum / n
    gradient[:weight_count] += alpha * w / n
    return loss, gradient


def loss_and_gradient(
    x: np.ndarray, y: np.ndarray, theta: np.ndarray, sizes: list[int], alpha: float
) -> tuple[float, np.ndarray]:
    """The whole objective on rows held in one place (tests, and the single-partition case)."""
    loss, gradient = partial_loss_gradient(x, y, theta, sizes)
    return objective(loss, gradient, len(y), theta, sizes, alpha)


def gradient_batches(
    theta: np.ndarray, sizes: list[int], features: list[str], label: str
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The function ``DataFrame.mapInArrow`` runs for one evaluation: one row of partial sums per
    partition (zeros for an empty one)."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        count, loss, gradient = 0, 0.0, np.zeros(len(theta))
        for batch in batches:
            if batch.num_rows == 0:
                continue
            x = columns_matrix(batch, features)
            y = batch.column(label).to_numpy(zero_copy_only=False).astype(np.float64)
            part_loss, part_gradient = partial_loss_gradient(x, y, theta, sizes)
            count, loss, gradient = count + len(y), loss + part_loss, gradient + part_gradient
        yield pa.RecordBatch.from_arrays(
            [
                pa.array([count], pa.int64()),
                pa.array([loss], pa.float64()),
                pa.array([gradient.tolist()], pa.list_(pa.float64())),
            ],
            schema=GRADIENT_SCHEMA,
        )

    return run
