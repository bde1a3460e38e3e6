"""ganx-toy: 2-D Gaussian mixtures (8-mode ring, 25-mode grid) with exact mode metrics."""

__version__ = "0.1.0"
