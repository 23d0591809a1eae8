"""Tests of selfdistill.core."""
