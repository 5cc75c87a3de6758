"""Whose page is it: the handwritten student number and name matched against the roster."""
