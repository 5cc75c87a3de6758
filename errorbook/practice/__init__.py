"""Practice for a wrong answer: similar questions from the bank and generated variants (变式题)."""
