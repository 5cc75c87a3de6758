"""Pure, deterministic grading: question and answer-key types, normalisation and graders.

No web or database code is imported here (a test enforces it).
"""
