"""Free-form arithmetic drill pages (口算): find printed ``a ○ b =`` items and read the answers.

Not installed yet: no service path reaches it until the paper-types issue wires it in."""
