"""The meeting use cases, written against the Protocols in `ports` (no host SDK)."""
