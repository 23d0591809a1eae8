"""Figures: one style (:mod:`selfdistill.plots.mobahi2020.style`), one module per paper and one for
training. Plots import no mathematics: arrays in, axes out.
"""
