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


def london_bicycles(hires: int = 3000, seed: int = 5) -> tuple[pa.Table, pa.Table]:
    """Synthetic ``bigquery-public-data.london_bicycles`` ``cycle_hire`` (start_station_name,
    start_station_id, start_date TIMESTAMP, duration in seconds) and ``cycle_stations`` (id,
    name, longitude, latitude): the columns the k-means tutorial reads, 2015 hires at 24 stations."""
    import datetime as dt

    import numpy as np

    rng = np.random.default_rng(seed)
    names = [f"Station {i}, Kennington" if i % 6 == 0 else f"Station {i}, Soho" for i in range(24)]
    longitude = -0.1 + rng.normal(0, 0.05, 24)
    latitude = 51.5 + rng.normal(0, 0.03, 24)
    stations = pa.table(
        {
            "id": pa.array(np.arange(24), pa.int64()),
            "name": pa.array(names),
            "longitude": pa.array(longitude),
            "latitude": pa.array(latitude),
        }
    )
    station = rng.integers(0, 24, hires)
    start = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
    seconds = rng.integers(0, 364 * 86400, hires)
    hire = pa.table(
        {
            "start_station_name": pa.array([names[s] for s in station]),
            "start_station_id": pa.array(station, pa.int64()),
            "start_date": pa.array(
                [start + dt.timedelta(seconds=int(s)) for s in seconds], pa.timestamp("us", "UTC")
            ),
            "duration": pa.array(rng.integers(60, 4000, hires), pa.int64()),
        }
    )
    return hire, stations


def taxi_tip_input(rows: int = 400, seed: int = 3) -> pa.Table:
    """Synthetic ``bigquery-public-data.new_york_taxi_trips.tlc_yellow_trips_2018``: its columns
    and types (DATETIME pickup and dropoff, NUMERIC amounts as DOUBLE, ids as STRING), tips
    rising with the fare."""
    import datetime as dt

    import numpy as np

    rng = np.random.default_rng(seed)
    pickup = [
        dt.datetime(2018, 1, 1) + dt.timedelta(minutes=int(m)) for m in rng.integers(0, 40000, rows)
    ]
    minutes = rng.integers(1, 60, rows)
    distance = np.round(rng.gamma(2.0, 2.0, rows), 2)
    fare = np.round(2.5 + 2.5 * distance + 0.3 * minutes, 2)
    tip = np.round(np.clip(0.18 * fare + rng.normal(0, 1.0, rows), 0, None), 2)
    return pa.table(
        {
            "vendor_id": pa.array(rng.choice(["1", "2"], rows)),
            "pickup_datetime": pa.array(pickup, pa.timestamp("us")),
            "dropoff_datetime": pa.array(
                [p + dt.timedelta(minutes=int(m)) for p, m in zip(pickup, minutes, strict=True)],
                pa.timestamp("us"),
            ),
            "passenger_count": pa.array(rng.integers(1, 5, rows), pa.int64()),
            "trip_distance": pa.array(distance),
            "rate_code": pa.array(rng.choice(["1", "5"], rows)),
            "store_and_fwd_flag": pa.array(rng.choice(["N", "Y"], rows)),
            "payment_type": pa.array(rng.choice(["1", "2", "3"], rows)),
            "fare_amount": pa.array(fare),
            "extra": pa.array(rng.choice([0.0, 0.5, 1.0], rows)),
            "mta_tax": pa.array(np.full(rows, 0.5)),
            "tip_amount": pa.array(tip),
            "tolls_amount": pa.array(np.zeros(rows)),
            "imp_surcharge": pa.array(np.full(rows, 0.3)),
            "total_amount": pa.array(np.round(fare + tip + 0.8, 2)),
            "pickup_location_id": pa.array(rng.choice(["193", "158", "140"], rows)),
            "dropoff_location_id": pa.array(rng.choice(["193", "91", "67"], rows)),
            "data_file_year": pa.array(np.full(rows, 2018), pa.int64()),
            "data_file_month": pa.array(np.full(rows, 1), pa.int64()),
        }
    )


def customer_activity(rows: int = 240, seed: int = 8) -> pa.Table:
    """Synthetic ``customer_activity`` of Redshift ML's churn tutorial (the page's CREATE TABLE
    columns; churn is 'True.' / 'False.' as in the UCI file), records from 2019 to 2021, churn more
    likely with many service calls and a high daily spend."""
    import datetime as dt

    import numpy as np

    rng = np.random.default_rng(seed)
    account_length = rng.integers(1, 240, rows)
    day_mins = np.round(rng.uniform(0, 350, rows), 1)
    eve_mins = np.round(rng.uniform(0, 350, rows), 1)
    night_mins = np.round(rng.uniform(0, 350, rows), 1)
    intl_mins = np.round(rng.uniform(0, 20, rows), 1)
    calls = rng.integers(0, 9, rows)
    total = np.round(0.17 * day_mins + 0.085 * eve_mins + 0.045 * night_mins + 0.27 * intl_mins, 2)
    churn = (calls >= 4) | (total / account_length > 1.5)
    churn = np.where(rng.random(rows) < 0.1, ~churn, churn)
    day = dt.date(2019, 1, 1)
    return pa.table(
        {
            "state": pa.array(rng.choice(["KS", "OH", "NJ", "OK"], rows)),
            "account_length": pa.array(account_length, pa.int32()),
            "area_code": pa.array(rng.choice([408, 415, 510], rows), pa.int32()),
            "phone": pa.array(
                [f"{rng.integers(300, 999)}-{rng.integers(1000, 9999)}" for _ in range(rows)]
            ),
            "intl_plan": pa.array(rng.choice(["yes", "no"], rows)),
            "vMail_plan": pa.array(rng.choice(["yes", "no"], rows)),
            "vMail_message": pa.array(rng.integers(0, 50, rows), pa.int32()),
            "day_mins": pa.array(day_mins),
            "day_calls": pa.array(rng.integers(0, 160, rows), pa.int32()),
            "day_charge": pa.array(np.round(0.17 * day_mins, 2)),
            "total_charge": pa.array(total),
            "eve_mins": pa.array(eve_mins),
            "eve_calls": pa.array(rng.integers(0, 160, rows), pa.int32()),
            "eve_charge": pa.array(np.round(0.085 * eve_mins, 2)),
            "night_mins": pa.array(night_mins),
            "night_calls": pa.array(rng.integers(0, 160, rows), pa.int32()),
            "night_charge": pa.array(np.round(0.045 * night_mins, 2)),
            "intl_mins": pa.array(intl_mins),
            "intl_calls": pa.array(rng.integers(0, 20, rows), pa.int32()),
            "intl_charge": pa.array(np.round(0.27 * intl_mins, 2)),
            "cust_serv_calls": pa.array(calls, pa.int32()),
            "churn": pa.array(np.where(churn, "True.", "False.")),
            "record_date": pa.array(
                [day + dt.timedelta(days=int(d)) for d in rng.integers(0, 3 * 365, rows)],
                pa.date32(),
            ),
        }
    )


def banknote_authentication(rows: int = 300, seed: int = 2) -> pa.Table:
    """Synthetic banknote authentication rows (the UCI file ships in no package): variance,
    skewness, curtosis, entropy (FLOAT) and class (INT, 1 = counterfeit), two separable groups."""
    import numpy as np

    rng = np.random.default_rng(seed)
    klass = rng.integers(0, 2, rows)
    shift = np.where(klass == 1, -2.0, 2.0)
    return pa.table(
        {
            "variance": pa.array(shift + rng.normal(0, 1.5, rows)),
            "skewness": pa.array(2 * shift + rng.normal(0, 3.0, rows)),
            "curtosis": pa.array(rng.normal(1.0, 3.0, rows)),
            "entropy": pa.array(rng.normal(-1.0, 2.0, rows)),
            "class": pa.array(klass, pa.int32()),
        }
    )


def abalone_dataset(rows: int = 400, seed: int = 4) -> pa.Table:
    """Synthetic ``abalone_dataset`` of Redshift ML's linear learner tutorial (its CREATE TABLE:
    id, Sex CHAR(1), Length … Shell, Rings): rings grow with the shell weight."""
    import numpy as np

    rng = np.random.default_rng(seed)
    length = rng.uniform(0.1, 0.8, rows)
    whole = 2.5 * length**3 + rng.normal(0, 0.02, rows).clip(-0.01, None)
    shell = 0.3 * whole + rng.normal(0, 0.01, rows)
    rings = np.clip(np.round(3 + 25 * shell + rng.normal(0, 1.2, rows)), 1, 29)
    return pa.table(
        {
            "id": pa.array(np.arange(1, rows + 1), pa.int32()),
            "Sex": pa.array(rng.choice(["M", "F", "I"], rows)),
            "Length": pa.array(length),
            "Diameter": pa.array(0.8 * length + rng.normal(0, 0.01, rows)),
            "Height": pa.array(0.27 * length + rng.normal(0, 0.01, rows)),
            "Whole": pa.array(whole),
            "Shucked": pa.array(0.45 * whole),
            "Viscera": pa.array(0.22 * whole),
            "Shell": pa.array(shell),
            "Rings": pa.array(rings.astype(np.int32)),
        }
    )


def gdelt_data(rows: int = 500, seed: int = 6) -> pa.Table:
    """Synthetic ``gdelt_data`` of Redshift ML's k-means tutorial: the columns its queries read
    (globaleventid, AvgTone, EventCode, NumArticles, the actors' names, ethnic codes and
    coordinates) with the page's types."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "GlobalEventId": pa.array(np.arange(rows), pa.int64()),
            "Actor1Name": pa.array(rng.choice(["UNITED STATES", "POLICE", " "], rows)),
            "Actor2Name": pa.array(rng.choice(["CHINA", "PROTESTER", " "], rows)),
            "Actor1EthnicCode": pa.array(rng.choice(["ara", "kur", " "], rows)),
            "Actor2EthnicCode": pa.array(rng.choice(["ara", "kur", " "], rows)),
            "EventCode": pa.array(rng.choice([10, 20, 43, 190], rows), pa.int64()),
            "NumArticles": pa.array(rng.integers(1, 30, rows), pa.int64()),
            "AvgTone": pa.array(rng.normal(0, 4, rows)),
            "Actor1Geo_Lat": pa.array(rng.uniform(-60, 60, rows)),
            "Actor1Geo_Long": pa.array(rng.uniform(-150, 150, rows)),
            "Actor2Geo_Lat": pa.array(rng.uniform(-60, 60, rows)),
            "Actor2Geo_Long": pa.array(rng.uniform(-150, 150, rows)),
        }
    )


def mytable(kind: str, rows: int = 120, seed: int = 1) -> pa.Table:
    """The reference pages' ``mydataset.mytable``: column1, column2 (FLOAT64), column3 (STRING),
    column4 (INT64), timestamp (TIMESTAMP) and label, which is FLOAT64 for ``kind='regression'``,
    INT64 0 / 1 for ``'binary'``, and 'label1' / 'label2' / 'label3' for ``'multiclass'``."""
    import datetime as dt

    import numpy as np

    rng = np.random.default_rng(seed)
    column1 = rng.normal(0, 1, rows)
    column2 = rng.normal(5, 2, rows)
    column3 = rng.choice(["a", "b", "c"], rows)
    score = 2 * column1 - 0.5 * column2 + np.where(column3 == "a", 1.0, 0.0)
    if kind == "regression":
        label = pa.array(score + rng.normal(0, 0.3, rows))
    elif kind == "binary":
        label = pa.array((score + rng.normal(0, 0.5, rows) > -2.0).astype(np.int64))
    else:
        bins = np.digitize(score, np.quantile(score, [1 / 3, 2 / 3]))
        label = pa.array([f"label{b + 1}" for b in bins])
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    return pa.table(
        {
            "column1": pa.array(column1),
            "column2": pa.array(column2),
            "column3": pa.array(column3),
            "column4": pa.array(rng.integers(0, 12, rows), pa.int64()),
            "timestamp": pa.array(
                [start + dt.timedelta(hours=i) for i in range(rows)], pa.timestamp("us", "UTC")
            ),
            "label": label,
        }
    )
