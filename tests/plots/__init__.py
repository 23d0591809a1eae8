"""Tests of selfdistill.plots."""
