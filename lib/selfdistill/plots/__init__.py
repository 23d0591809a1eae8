"""Figures: one style, one module per paper, one for training
and one for a sweep's region of validity.

* :mod:`~selfdistill.plots.style` — the book's one figure style (text legible at the displayed
  size, a colour-blind-safe palette), applied on import of every plotting module;
* :mod:`~selfdistill.plots.mobahi2020` (the rounds) and :mod:`~selfdistill.plots.mobahi2020_fits`
  (single fits, re-exported by the former), :mod:`~selfdistill.plots.zhang2020`,
  :mod:`~selfdistill.plots.dong2019` — one module per paper;
* :mod:`~selfdistill.plots.training` — the deep-network chapters;
* :mod:`~selfdistill.plots.sweep` — a sweep's region of validity, drawn on a bare figure.

Plots import no mathematics: arrays (or CPU tensors) and result records in, Matplotlib axes (or a
figure) out; none chooses a Matplotlib backend.
"""
