"""Helpers shared by several test modules (sign-in, scans, review fixtures)."""
