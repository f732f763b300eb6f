"""The flows the public API exposes, each composing the stages below it: compile (load → target
pipeline → target rules → lower), convert (ANN → SNN), validate (the same input through every
stage, compared). They live apart from `snnc/__init__.py` so that a module here may be called
`compile` without shadowing the function `snnc.compile`.
"""
