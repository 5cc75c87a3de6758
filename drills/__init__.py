"""Long robustness drills (``python -m drills.<name>``); their short forms run in the tests."""
