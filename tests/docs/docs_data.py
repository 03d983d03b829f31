"""The public data the official pages use, from packages: BigQuery's ``ml_datasets.penguins`` from
palmerpenguins, and scikit-learn's datasets where a page's data ships in no package.

``bigquery-public-data.ml_datasets.penguins`` is palmerpenguins' ``penguins_raw`` (344 rows) with
seven of its columns renamed: species = Species ("Adelie Penguin (Pygoscelis adeliae)", …),
island = Island, culmen_length_mm, culmen_depth_mm, flipper_length_mm, body_mass_g, sex = Sex.
One difference: BigQuery's table has one ``sex = '.'`` row (as the original EDI data does); the
package has NULL for all 11 unknown sexes, so the published numbers are matched to about 3 decimals
of r2, not exactly (see the tests' tolerances).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv

PENGUINS_COLUMNS = {
    "Species": "species",
    "Island": "island",
    "Culmen Length (mm)": "culmen_length_mm",
    "Culmen Depth (mm)": "culmen_depth_mm",
    "Flipper Length (mm)": "flipper_length_mm",
    "Body Mass (g)": "body_mass_g",
    "Sex": "sex",
}


@cache
def penguins() -> pa.Table:
    """``bigquery-public-data.ml_datasets.penguins``: species, island, culmen_length_mm,
    culmen_depth_mm, flipper_length_mm, body_mass_g (DOUBLE, as BigQuery's FLOAT64), sex."""
    raw = files("palmerpenguins") / "data" / "penguins-raw.csv"
    with raw.open("rb") as handle:
        table = csv.read_csv(
            handle,
            convert_options=csv.ConvertOptions(
                include_columns=list(PENGUINS_COLUMNS),
                null_values=["NA", ""],
                strings_can_be_null=True,
                column_types={
                    "Culmen Length (mm)": pa.float64(),
                    "Culmen Depth (mm)": pa.float64(),
                    "Flipper Length (mm)": pa.float64(),
                    "Body Mass (g)": pa.float64(),
                },
            ),
        )
    return table.rename_columns([PENGUINS_COLUMNS[name] for name in table.column_names])


def where_not_null(table: pa.Table, column: str) -> pa.Table:
    return table.filter(pc.is_valid(table[column]))


def iris() -> pa.Table:
    """``bigquery-public-data.ml_datasets.iris``: sepal_length, sepal_width, petal_length,
    petal_width (FLOAT64) and species ('setosa', 'versicolor', 'virginica'), from scikit-learn."""
    from sklearn.datasets import load_iris

    data = load_iris()
    names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    columns = {name: pa.array(data.data[:, i]) for i, name in enumerate(names)}
    columns["species"] = pa.array([str(data.target_names[t]) for t in data.target])
    return pa.table(columns)


def census_adult_income(rows: int = 600, seed: int = 11) -> pa.Table:
    """A synthetic ``bigquery-public-data.ml_datasets.census_adult_income`` (the real table ships in
    no package): the columns the tutorials read, with BigQuery's types and spellings (labels
    ' <=50K' / ' >50K' with their leading space), income rising with age, education and hours."""
    import numpy as np

    rng = np.random.default_rng(seed)
    age = rng.integers(17, 80, rows)
    education_num = rng.integers(1, 17, rows)
    hours = rng.integers(5, 80, rows)
    workclass = rng.choice([" Private", " Self-emp-inc", " Local-gov", " ?"], rows)
    marital = rng.choice([" Married-civ-spouse", " Never-married", " Divorced"], rows)
    occupation = rng.choice([" Prof-specialty", " Adm-clerical", " Craft-repair", " ?"], rows)
    score = 0.04 * (age - 40) + 0.35 * (education_num - 9) + 0.03 * (hours - 40)
    score = score + np.where(marital == " Married-civ-spouse", 1.0, -0.8)
    high = score + rng.normal(0, 1.0, rows) > 0.8
    return pa.table(
        {
            "age": pa.array(age, pa.int64()),
            "workclass": pa.array(workclass),
            "functional_weight": pa.array(rng.integers(10_000, 500_000, rows), pa.int64()),
            "education": pa.array([f" ed-{n}" for n in education_num]),
            "education_num": pa.array(education_num, pa.int64()),
            "marital_status": pa.array(marital),
            "occupation": pa.array(occupation),
            "relationship": pa.array(rng.choice([" Husband", " Not-in-family", " Wife"], rows)),
            "race": pa.array(rng.choice([" White", " Black", " Other"], rows)),
            "sex": pa.array(rng.choice([" Male", " Female"], rows)),
            "capital_gain": pa.array(rng.integers(0, 2, rows) * rng.integers(0, 9000, rows)),
            "capital_loss": pa.array(np.zeros(rows, dtype=np.int64)),
            "hours_per_week": pa.array(hours, pa.int64()),
            "native_country": pa.array(rng.choice([" United-States", " Mexico"], rows)),
            "income_bracket": pa.array(np.where(high, " >50K", " <=50K")),
        }
    )
