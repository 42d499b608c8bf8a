"""The pure core: reading commands and forms, the canonical request, ledger, limits, calendar."""
