"""Classification metrics (scikit-learn), as plain JSON-able numbers."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support


def _as_numpy(x) -> np.ndarray:
    return np.asarray(x.detach().cpu() if hasattr(x, "detach") else x)


def classification_metrics(y_true, y_pred, num_classes: int) -> dict:
    """Accuracy, macro precision/recall/F1 and the confusion matrix.

    ``y_true``, ``y_pred``: integer labels of shape (N,) (numpy or torch). The macro average
    runs over all of ``range(num_classes)``, with 0 for a ratio whose denominator is 0
    (e.g. a class never predicted), so small evaluation sets do not silently drop classes.
    ``confusion[i][j]`` counts true class ``i`` predicted as ``j``.
    """
    y_true, y_pred = _as_numpy(y_true).ravel(), _as_numpy(y_pred).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} differ in length")
    if len(y_true) == 0:
        raise ValueError("cannot compute metrics of zero examples")
    labels = list(range(num_classes))
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, average="macro",
                                                 zero_division=0)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "precision": float(p),
        "recall": float(r),
        "f1": float(f),
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "n": int(len(y_true)),
    }
