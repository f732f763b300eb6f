"""Intel Loihi 2 through Lava and NetX: the "loihi" target (target.py).

`to_lava(compiled)` builds the Lava process network of a graph compiled for loihi (lava.py);
Lava itself is imported only when a network is built, through the Python 3.11 shim (shim.py).
"""

from snnc.backends.loihi.lava import to_lava

__all__ = ["to_lava"]
