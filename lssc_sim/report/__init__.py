"""A report per run: a results folder turned into ``report.md`` and a self-contained ``report.html``.

``document`` (the blocks both files are made of), ``numbers`` (cliffs, crossings, BLER thresholds from
results.csv: pure functions), ``tables`` (those numbers as tables), ``sections`` (title, scenario, run, figures),
``markdown`` and ``html`` (the two renderers), ``write`` (:func:`write_report`). Imports neither TensorFlow nor
numba.
"""

from lssc_sim.report.write import write_report

__all__ = ["write_report"]
