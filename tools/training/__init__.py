"""Scripts that reproduce the models markbook trains itself (not imported at run time)."""
