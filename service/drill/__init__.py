"""Drill pages (口算) read and graded: ``ocr.drill`` reads, ``grading.drill`` decides.

Not installed yet, like ``ocr.drill``: no service path reaches it until the paper-types
issue wires drill pages into the scan worker. Tests and the drill bench use it today.
"""
