"""kanmix.report: a chapter's kernel set-up, and tables formatted for reading."""

from __future__ import annotations

import math
import re
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

from kanmix import report


class _Shell:
    """Stands in for IPython's shell: records the line magics it is asked to run."""

    def __init__(self):
        self.magics = []

    def run_line_magic(self, name, line):
        self.magics.append((name, line))


@pytest.mark.parametrize("in_ipython", [True, False])
def test_setup_hides_the_widget_warning_styles_figures_and_turns_on_inline(monkeypatch, in_ipython):
    import IPython

    shell = _Shell()
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell if in_ipython else None)
    with matplotlib.rc_context(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        matplotlib.rcParams["figure.dpi"] = 100
        report.setup()
        for key, value in report.RC_PARAMS.items():
            assert matplotlib.rcParams[key] == value, key
        warnings.warn("IProgress not found. Please update jupyter and ipywidgets.")
        warnings.warn("a warning a reader should see")
    assert [str(w.message) for w in caught] == ["a warning a reader should see"]
    assert shell.magics == ([("matplotlib", "inline")] if in_ipython else [])


@pytest.mark.parametrize("value, precision, text", [
    (1004745, 4, "1,004,745"),  # counts keep every digit
    (np.int64(60000), 4, "60,000"),
    (12.5697, 4, "12.57"),
    (12.5697, 3, "12.6"),
    (0.903, 4, "0.9030"),  # trailing zeros say how many digits are meant
    (0.0012345, 4, "0.001234"),  # the first significant digit counts, not the first decimal
    (-0.0012345, 3, "−0.00123"),  # a true minus sign (U+2212), not a hyphen
    (-1234.56, 4, "−1,235"),
    (123456.7, 4, "123,500"),  # at most 4 significant digits, even in the integer part
    (1234567.0, 4, "1,234,567"),  # ... but a whole float is a count that became float: every digit
    (0.99996, 4, "1.000"),  # the digits are counted after rounding
    (2.5e-7, 4, "2.500 × 10⁻⁷"),  # a power of ten for a reader, not "2.500e-07"
    (0.0, 4, "0"),
    (-0.0, 4, "0"),
    (-7, 4, "−7"),
    (float("nan"), 4, "–"),
    (None, 4, "–"),
    (float("inf"), 4, "inf"),
    (True, 4, "True"),
    ("0.9 [0.8, 1.0]", 4, "0.9 [0.8, 1.0]"),  # already formatted text is left alone
])
def test_format_number(value, precision, text):
    assert report.format_number(value, precision) == text


def test_format_table_formats_by_column_kind_and_labels_headers():
    df = pd.DataFrame({
        "model": ["kan", "cnn"],
        "params": [1004745, 52001],
        "psnr": [12.5697, 25.301],
        "train_seconds": [3.14159, 1234.5678],
        "n_val": [12000.0, np.nan],  # a count that became float through a missing value
        "augment": [True, False],
    }, index=pd.Index([8, 16], name="bottleneck"))
    shown = report.format_table(df, names={"psnr": "PSNR", "train_seconds": "Training time", "unused": "x"},
                                units={"psnr": "dB", "train_seconds": "s"})
    assert list(shown.columns) == ["model", "params", "PSNR (dB)", "Training time (s)", "n val", "augment"]
    assert shown.index.names == ["bottleneck"] and list(shown.index) == ["8", "16"]  # labels, as text
    assert shown.to_dict("list") == {
        "model": ["kan", "cnn"],
        "params": ["1,004,745", "52,001"],
        "PSNR (dB)": ["12.57", "25.30"],
        "Training time (s)": ["3.142", "1,235"],
        "n val": ["12,000", "–"],
        "augment": [True, False],
    }
    assert df["psnr"].tolist() == [12.5697, 25.301], "the caller's DataFrame is not changed"
    assert report.format_table(df, precision=2)["psnr"].tolist() == ["13", "25"]


def test_format_table_labels_multiindex_levels_and_keeps_shape():
    cols = pd.MultiIndex.from_tuples([("test_mse", "mean"), ("test_mse", "std")], names=["metric", "stat"])
    idx = pd.MultiIndex.from_tuples([("mnist", "kan"), ("mnist", "cnn"), ("cifar10", "kan")],
                                    names=["dataset", "model"])
    df = pd.DataFrame([[0.0123456, 0.00012], [0.02, math.nan], [0.1, 0.001]], index=idx, columns=cols)
    shown = report.format_table(df, names={"test_mse": "Test MSE", "dataset": "Dataset"})
    assert shown.shape == df.shape and list(shown.index) == list(df.index)
    assert list(shown.columns) == [("Test MSE", "mean"), ("Test MSE", "std")]
    assert shown.columns.names == ["metric", "stat"] and shown.index.names == ["Dataset", "model"]
    assert shown.iloc[:, 0].tolist() == ["0.01235", "0.02000", "0.1000"]
    assert shown.iloc[:, 1].tolist() == ["0.0001200", "–", "0.001000"]


def _significant_digits(cell: str) -> int:
    """How many significant digits a formatted measurement shows: ``"−0.001230"`` -> 4, ``"123,500"`` -> 4
    (trailing zeros of an integer part are not significant), ``"2.500 × 10⁻⁷"`` -> 4."""
    mantissa = cell.split(" × ")[0].lstrip("−").replace(",", "")
    digits = mantissa.replace(".", "").lstrip("0")
    return len(digits if "." in mantissa else digits.rstrip("0")) or 1


@pytest.mark.parametrize("value, text", [
    (2.4e-7, "0.0000002400"), (-3.33e-5, "−0.00003330"), (12345.678, "12,350"), (-1.16, "−1.160"),
])
def test_prose_numbers_are_fixed_with_true_minus_and_thousands(value, text):
    assert report.fmt(value) == text and "e" not in report.fmt(value)


@pytest.mark.parametrize("value, text", [
    (1e-5, "0.00001"), (3e-4, "0.0003"), (0.5, "0.5"), (3.0, "3"), (20000, "20,000"), (-2, "−2"),
    (np.float64(0.001), "0.001"), ("a", "a"),
])
def test_plain_writes_settings_as_given(value, text):
    assert report.plain(value) == text


def test_typeset_makes_powers_and_minus_signs_outside_math():
    assert report.typeset("x^2 on [-1, 1]") == "x² on [−1, 1]"
    assert report.typeset("10^-3, fold-0, 2024-01, -.5") == "10⁻³, fold-0, 2024-01, −.5"
    assert report.typeset("$x^2 - 1$ and $[-1, 1]$") == "$x^2 - 1$ and $[-1, 1]$"  # LaTeX typesets its own


def test_a_formatted_table_reads_like_print():
    df = pd.DataFrame({
        "model": ["kan", "cnn", "mlp"],
        "gap": [-0.012345678, 0.5, -2.4e-7],
        "p": [2.4e-7, 0.0123456, 1.0],
        "seconds": [123456.789, -98765.4321, 1.23456789],
        "val_accuracy": [0.903123, 0.0004, -0.25],
        "params": [1004745, 1000, 52001],
        "best form": ["x^2", "sin", "[-1, 1]"],
    }, index=pd.Index([60000, 1000, 100], name="n_train"))
    shown = report.format_table(df, percent=["val_accuracy"], units={"gap": "[-1, 1] scale"})
    cells = [str(v) for v in shown.to_numpy().ravel()] + list(shown.index) + list(shown.columns)
    assert not any(re.search(r"-\d", c) for c in cells), "every minus before a digit is U+2212"
    assert not any(re.search(r"\de[-+]?\d", c) for c in cells), "no machine exponents"
    gap = "gap ([−1, 1] scale)"  # the hyphen of a unit becomes a minus too
    for col in (gap, "p", "seconds", "val accuracy (%)"):
        assert all(_significant_digits(c) <= 4 for c in shown[col]), shown[col].tolist()
    assert shown[gap].tolist() == ["−0.01235", "0.5000", "−2.400 × 10⁻⁷"]
    assert shown["seconds"].tolist() == ["123,500", "−98,770", "1.235"]
    assert shown["val accuracy (%)"].tolist() == ["90.31", "0.04000", "−25.00"]  # a percentage, the unit in its header
    assert shown["params"].tolist() == ["1,004,745", "1,000", "52,001"]
    assert list(shown.index) == ["60,000", "1,000", "100"]
    assert shown["best form"].tolist() == ["x²", "sin", "[−1, 1]"]


def test_numeric_headers_and_multiindex_percent_columns():
    df = pd.DataFrame([[0.91, 0.92]], columns=pd.Index([1e-5, 3e-4], name="lr"))
    assert list(report.format_table(df).columns) == ["0.00001", "0.0003"]  # learning rates heading columns
    cols = pd.MultiIndex.from_tuples([("val_accuracy", "mean"), ("train_seconds", "mean")])
    shown = report.format_table(pd.DataFrame([[0.9031, 12.5]], columns=cols), percent=["val_accuracy"])
    assert list(shown.columns) == [("val accuracy (%)", "mean"), ("train seconds", "mean")]
    assert shown.iloc[0].tolist() == ["90.31", "12.50"]
