"""Tests of selfdistill.training."""
