"""The verbs of the `snnc` command, one module each (see snnc/cli.py)."""
