"""NIR, the neuromorphic intermediate representation, in both directions.

read.py turns a NIR graph (a file or a `nir.NIRGraph`) into snnc's IR; flat.py inlines nested
graphs and normalizes what real exporters write; primitives.py maps each NIR primitive onto IR
ops (continuous-time equations discretized by forward Euler), and plain.py maps IR nodes back
onto NIR primitives, listing what NIR cannot state; write.py exports a graph; sidecar.py keeps
snnc's exact graph inside the file, so a graph snnc writes reads back exactly.
"""
