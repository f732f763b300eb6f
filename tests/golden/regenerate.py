"""Write the golden files again, from the current code: `python tests/golden/regenerate.py` (or
`make golden`), run from the repository root. (Not `python -m tests...`: a site-packages `tests`
package of some library shadows the repository's tests directory.) Review the diff before committing it: a golden
file changes only when the emitted format or a compiled value is meant to change.

tests/golden/speck/<case>.speck.json: the Speck configuration snnc writes for each small network
of tests/backends/speck/networks.py (the ones whose fields are held equal to sinabs').
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE.parent / "backends" / "speck")]  # snnc, the Speck test helpers


def speck() -> list[Path]:
    from conftest import install_standin

    install_standin()  # the DVS networks need sinabs.backend.dynapcnn, which imports samna
    from networks import CASES
    from sinabs_reference import snnc_compiled, snnc_config

    from snnc.atomic import write_atomically
    from snnc.backends.speck.lower import dumps

    written = []
    for case in CASES:
        if case.golden:
            path = HERE / "speck" / f"{case.name}.speck.json"
            write_atomically(path, dumps(snnc_config(snnc_compiled(case))), rule="IO-WRITE")
            written.append(path)
    return written


def main() -> None:
    for path in speck():
        print(f"wrote {path.relative_to(HERE.parents[1])}")


if __name__ == "__main__":
    main()
