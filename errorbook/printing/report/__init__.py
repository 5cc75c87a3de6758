"""The class report (学情报告) PDF: a class's analysis with its charts, for printing."""
