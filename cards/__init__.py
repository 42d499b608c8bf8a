"""Adaptive Cards MeetBot sends, built from typed elements."""
