"""What a chapter of the book shares with every other: kernel set-up and tables formatted for reading.

``setup()`` is the first line after a chapter's imports. ``format_table(df, names=, units=)``
turns a DataFrame of results into the strings a reader sees (thousands separators for counts,
a few significant digits for measurements, human column names with units);
:func:`kanmix.book.table` renders it with its caption in a box that scrolls when the table is
wider than the page.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Mapping

# The look of every figure in the book: a little larger than matplotlib's 100 dpi so that the
# axis labels stay legible at the book's column width, and no top/right frame.
RC_PARAMS = {"figure.dpi": 110, "axes.spines.top": False, "axes.spines.right": False}


def setup() -> None:
    """Prepare a chapter's kernel for the book: call once, right after the chapter's imports.

    - Hides tqdm's "IProgress not found" warning: the book's kernels run in batch (papermill,
      nbmake) with no widget front end, so the warning would be printed into every chapter
      that trains; the progress bars then fall back to text.
    - Turns on matplotlib's inline backend when running in IPython (a no-op elsewhere):
      ``kanmix.viz`` returns bare Figures, which ``display()`` renders only with it on.
    - Sets the book's figure style (:data:`RC_PARAMS`), after the backend so that nothing the
      backend applies overrides it.
    """
    warnings.filterwarnings("ignore", message="IProgress not found")
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: no inline backend to turn on
        shell = None
    else:
        shell = get_ipython()
    if shell is not None:
        shell.run_line_magic("matplotlib", "inline")
    import matplotlib.pyplot as plt

    plt.rcParams.update(RC_PARAMS)


# ----------------------------------------------------------------------------- tables

def format_number(value, precision: int = 4) -> str:
    """One measurement as text with ``precision`` significant digits and thousands separators.

    ``12.5697`` -> ``"12.57"``, ``0.903`` -> ``"0.9030"``, ``123456.7`` -> ``"123,457"`` (no
    digit of the integer part is dropped), ``2.5e-7`` -> ``"2.500e-07"``; missing values (None,
    NaN) -> ``"–"``. Integers (``1004745`` -> ``"1,004,745"``) are counts and keep every digit.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value)
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    value = float(value)
    if value == 0 or math.isinf(value):
        return f"{value:g}"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude < -4:  # 0.00001234: fixed notation would be mostly zeros
        return f"{value:.{precision - 1}e}"
    return f"{value:,.{max(precision - 1 - magnitude, 0)}f}"


def column_label(name, names: Mapping | None = None, units: Mapping | None = None) -> str:
    """The header a reader sees: ``names[name]`` (else the field name with spaces for
    underscores, so long headers can wrap), then `` (unit)`` when ``units`` gives one."""
    label = (names or {}).get(name)
    if label is None:
        label = str(name).replace("_", " ")
    unit = (units or {}).get(name)
    return f"{label} ({unit})" if unit else str(label)


def format_table(df, *, names: Mapping | None = None, units: Mapping | None = None, precision: int = 4):
    """A copy of ``df`` as the text a reader sees; its shape and row order are unchanged.

    - integer columns are counts: every digit, with thousands separators (``1,004,745``);
    - float columns are measurements, shown with ``precision`` significant digits
      (:func:`format_number`); a float column whose values are all whole numbers (a count
      that became float, e.g. through a missing value) is shown as a count;
    - other columns (text, already formatted numbers) are left as they are;
    - column and index names become ``names[field]`` with `` (units[field])`` appended
      (:func:`column_label`); fields missing from ``names`` get spaces for underscores.

    ``names`` and ``units`` map field names (``"psnr"``) to what the reader sees (``"PSNR"``,
    ``"dB"``); fields not in the table are ignored, so chapters can pass one mapping for all
    their tables.
    """
    import pandas as pd

    out = df.copy()
    for col in out.columns:
        series = out[col]
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            continue
        present = series.dropna()
        whole = pd.api.types.is_integer_dtype(series) or bool(
            len(present) and (present == present.round()).all() and present.abs().max() < 2**53)
        if whole:
            out[col] = [format_number(None if pd.isna(v) else int(v)) for v in series]
        else:
            out[col] = [format_number(None if pd.isna(v) else float(v), precision) for v in series]
    out.columns = _labels(out.columns, names, units)
    out.index = out.index.set_names([None if n is None else column_label(n, names, units) for n in out.index.names])
    return out


def _labels(columns, names, units):
    import pandas as pd

    if isinstance(columns, pd.MultiIndex):  # a pivoted table: label every level
        return pd.MultiIndex.from_tuples([tuple(column_label(p, names, units) for p in col) for col in columns],
                                         names=columns.names)
    return pd.Index([column_label(c, names, units) for c in columns], name=columns.name)
