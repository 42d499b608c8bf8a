"""Meeting requests: parsing, the canonical request and its externalId."""
