"""Tests of selfdistill.dong2019."""
