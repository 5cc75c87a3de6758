"""Pixels to readings: ingest → identify → align → crop → read (see ``ocr.pipeline``).

Stage modules sit at the top (``ingest``, ``identify``, ``align``, ``regions``, ``marks``);
the answer readers and their combination live in ``ocr.reading``; matching a page to a
roster student in ``ocr.students``. ``ocr.drill`` and ``ocr.foreign`` are not yet reached
by the service and are left out of the installed package.
"""
