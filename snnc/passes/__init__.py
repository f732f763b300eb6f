"""Graph-to-graph passes, one module each (see base.py), and the per-target pipelines."""
