"""Mastery, error-book entries and error books: the service side of the paper loop."""
