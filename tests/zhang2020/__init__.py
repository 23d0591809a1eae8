"""Tests of selfdistill.zhang2020."""
