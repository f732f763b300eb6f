"""NIR, the neuromorphic intermediate representation, in both directions.

read.py turns a NIR graph (a file or a `nir.NIRGraph`) into snnc's IR, flat.py inlines nested
graphs and normalizes what real exporters write, primitives.py maps each NIR primitive (its
continuous-time equations discretized by forward Euler), write.py exports a graph as plain NIR
plus snnc's exact semantics sidecar. Reading and writing share the Euler mapping, so a graph
snnc writes reads back exactly.
"""
