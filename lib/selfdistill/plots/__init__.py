"""Figures: one style (:mod:`selfdistill.plots.style`), one module per paper, one for training
and one for a sweep's region of validity (:mod:`selfdistill.plots.sweep`). Plots import no
mathematics: arrays in, axes (or a figure) out; none chooses a Matplotlib backend.
"""
