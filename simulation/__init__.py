"""Synthetic classes for the demo, the tests and the benchmarks: real handwriting composed
into printed pages, degraded like a copier, and a class of students doing a worksheet.

Product code never imports it, except ``markbook demo`` (``service.demo``)."""
