"""Tests of selfdistill.mobahi2020."""
