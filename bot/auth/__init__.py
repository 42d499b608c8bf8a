"""Signing in: the token service, Teams SSO on-behalf-of, pending requests, keys."""
