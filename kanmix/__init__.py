"""kanmix: Kolmogorov-Arnold Networks for vision.

The package follows the flow of the book:
data -> kan (the layer) -> models -> train / cv / ae / search -> results -> viz.
"""

__version__ = "0.1.0"
