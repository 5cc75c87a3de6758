"""The watched folder: scans that copiers drop into a directory (``markbook watch``)."""
