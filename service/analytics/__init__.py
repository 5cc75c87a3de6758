"""Analytics: what a teacher sees after grading, per worksheet, per class over time and
per student, every figure with a link to the answers behind it (see ``docs/analytics.md``)."""
