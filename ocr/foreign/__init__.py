"""Foreign worksheets: propose answer regions from a blank scan of a page markbook did not print.

Not installed yet: no service path reaches it until the paper-types issue wires it in."""
