"""kanmix: Kolmogorov-Arnold Networks for vision.

The package follows the flow of the book:
data -> splits -> kan (the layer) -> models -> train (runtime) -> runner (experiment, ae) -> cv / search
-> results -> viz.
"""

__version__ = "0.1.0"
