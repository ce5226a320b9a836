"""Figures made from ``results.csv`` only: ``base`` (registry, saving, panels, legends), one module per family
(``ber``, ``image`` against SNR, ``rate`` against bits per pixel, ``codec``, and the ``bd_table`` of Bjøntegaard
deltas), ``make`` (draws a scenario's list) and ``catalog`` (the light list of names the scenario validator
reads). Importing this package imports no matplotlib.
"""

from lssc_sim.plots.catalog import PLOT_KINDS, PlotStyle

__all__ = ["PLOT_KINDS", "PlotStyle"]
