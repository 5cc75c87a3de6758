"""The printed side and the learner.

``errorbook.contract`` is the print/scan contract (page code, layout schema) that printing
and ``ocr`` both import; ``errorbook.printing`` renders every PDF (worksheets, annotated
papers, error books); ``errorbook.learner`` is the mastery model (BKT, fit, schedule,
rollup, difficulty); ``errorbook.practice`` chooses similar questions and generates variants.
"""
