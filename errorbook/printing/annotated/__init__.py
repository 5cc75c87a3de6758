"""Annotated papers (批改痕迹): scanned pages handed back with the teacher's marks."""
