"""The reference simulator as a compilation target: a thin adapter over snnc/sim (target.py)."""
