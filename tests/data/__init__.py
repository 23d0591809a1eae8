"""Tests of selfdistill.data."""
