"""Verification of a reading against the answer key (how much likelier the key is than the reading).

Not installed yet: no service path reaches it until the unseen-writers issue wires it in."""
