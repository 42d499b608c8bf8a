"""Tests of the Graph createOrGet client and the embedded Graph sandbox."""
