"""markbook models package."""
