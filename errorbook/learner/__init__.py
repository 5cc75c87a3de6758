"""The learner model: BKT mastery per student × knowledge point, parameter fitting, item
difficulty, the redo schedule and the roll-up along the knowledge-point tree."""
