"""Templates: a teacher's own worksheet or a workbook page, graded from one uploaded blank."""
