"""markbook service package."""
