"""markbook errorbook package."""
