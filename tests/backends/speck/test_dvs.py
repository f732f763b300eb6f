"""The DVS layer's view (snnc/backends/speck/dvs.py): any chain of the IR's Crop and Flip is one crop
then one flip, and an event's address goes where the ops send its value."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from snnc.backends.speck.dvs import View
from snnc.ir import Crop, Flip, GraphBuilder, Op
from snnc.sim import reference


@st.composite
def chains(draw, h: int, w: int) -> list[Op]:
    """1..4 crops and flips, one after the other, each fitting what the previous left of an h x w map."""
    ops: list[Op] = []
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            top, left = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))
            bottom, right = draw(st.integers(top + 1, h)), draw(st.integers(left + 1, w))
            ops.append(Crop(top, bottom, left, right))
            h, w = bottom - top, right - left
        else:
            flip = Flip(*draw(st.tuples(st.booleans(), st.booleans(), st.booleans())))
            ops.append(flip)
            h, w = (w, h) if flip.swap_xy else (h, w)
    return ops


def literal(shape: tuple[int, int], ops: list[Op], x: np.ndarray) -> np.ndarray:
    """x [T, B, 1, H, W] through `ops` by the IR's reference definitions."""
    b = GraphBuilder("view")
    last = b.input("x", (1, *shape))
    for k, op in enumerate(ops):
        last = b.add(f"op{k}", op, last)
    b.output("y", last)
    return reference.run(b.build(), x)["y"]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_chain_of_crops_and_flips_is_one_view(data):
    shape = (data.draw(st.integers(1, 7)), data.draw(st.integers(1, 7)))
    ops = data.draw(chains(*shape))
    view = View.whole(*shape)
    for op in ops:
        view = view.then(op)
    x = np.arange(np.prod(shape), dtype=np.float32).reshape(1, 1, 1, *shape) + 1  # every value distinct
    want = literal(shape, ops, x)
    assert want.shape[-2:] == view.shape
    np.testing.assert_array_equal(literal(shape, view.ops(*shape), x), want)  # at most one crop, then one flip
    for y in range(shape[0]):  # each pooled address lands where its value does, or nowhere
        for x_ in range(shape[1]):
            at = np.argwhere(want[0, 0, 0] == x[0, 0, 0, y, x_])
            assert view.address(y, x_) == (tuple(int(v) for v in at[0]) if len(at) else None)


def test_the_documented_region():
    """speck.md §5: DVSLayer(pool 4, crop ((4, 28), (0, 32)), flip_x) on 128x128: origin {x 0, y 4},
    cut {x 31, y 27}; the first kept row's first column lands at the last column."""
    view = View.whole(32, 32).then(Crop(4, 28, 0, 32)).then(Flip(flip_x=True))
    assert (view.top, view.bottom - 1, view.left, view.right - 1) == (4, 27, 0, 31) and view.flip_x
    assert view.address(4, 0) == (0, 31) and view.address(3, 0) is None and view.shape == (24, 32)
