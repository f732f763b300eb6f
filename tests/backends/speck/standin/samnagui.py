"""Stand-in for samna's GUI module, which sinabs' io.py imports at import time (tests only)."""


def run_visualizer(*args, **kwargs):
    raise RuntimeError("the samna stand-in has no visualizer")
