"""kanmix.report: a chapter's kernel set-up, and tables formatted for reading."""

from __future__ import annotations

import math
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
    (-0.0012345, 3, "-0.00123"),
    (123456.7, 4, "123,457"),  # no digit of the integer part is dropped
    (2.5e-7, 4, "2.500e-07"),
    (0.0, 4, "0"),
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
    assert shown.index.names == ["bottleneck"] and list(shown.index) == [8, 16]
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
