"""Shared test data and helpers; no tests live here, so no test module imports another."""
