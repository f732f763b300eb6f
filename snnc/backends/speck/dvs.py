"""The DVS layer's region of interest and mirroring: the IR's Crop and Flip as the chip does them.

Speck's DVS layer pools the sensor's events, then keeps a rectangle of the pooled map and mirrors
and transposes it ([DS §3.2.3]; docs/targets/speck.md §2.5): sinabs' `DVSLayer.forward` runs
SumPool → `Crop2d` → `FlipDims`, and `DVSLayer.get_config_dict` writes the rectangle as `origin`
(its first row and column) and `cut` (its last, inclusive), the flips as `mirror.y`, `mirror.x`
and `mirror_diagonal` (speck.md §5). `View` is that one rectangle and one flip. Any chain of the
IR's Crop and Flip ops is one: a crop after a flip is a crop of the mirrored rectangle before it,
and a flip after a transpose flips the other axis (`View.then`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from snnc.ir.ops import Crop, Flip, Op


@dataclass(frozen=True)
class View:
    """Rows top..bottom−1 and columns left..right−1 of the pooled map, then mirrored and transposed
    as the IR's `Flip` (rows, columns, then the transpose)."""

    top: int
    bottom: int
    left: int
    right: int
    flip_y: bool = False
    flip_x: bool = False
    swap_xy: bool = False

    @classmethod
    def whole(cls, height: int, width: int) -> View:
        return cls(0, height, 0, width)

    @property
    def cropped(self) -> tuple[int, int]:
        """The rectangle's height and width."""
        return self.bottom - self.top, self.right - self.left

    @property
    def shape(self) -> tuple[int, int]:
        """The output's height and width (the rectangle's, transposed with swap_xy)."""
        h, w = self.cropped
        return (w, h) if self.swap_xy else (h, w)

    @property
    def flips(self) -> bool:
        return self.flip_y or self.flip_x or self.swap_xy

    def then(self, op: Op) -> View:
        """This view followed by a Crop or a Flip of its output, as one view."""
        if isinstance(op, Flip):
            fy, fx = (op.flip_x, op.flip_y) if self.swap_xy else (op.flip_y, op.flip_x)  # a mirror after the
            return replace(  # transpose mirrors the other axis before it
                self, flip_y=self.flip_y ^ fy, flip_x=self.flip_x ^ fx, swap_xy=self.swap_xy ^ op.swap_xy
            )
        assert isinstance(op, Crop)  # the grouping hands views Crop and Flip nodes only
        (r0, r1), (c0, c1) = (op.top, op.bottom), (op.left, op.right)
        if self.swap_xy:
            (r0, r1), (c0, c1) = (c0, c1), (r0, r1)
        h, w = self.cropped
        if self.flip_y:
            r0, r1 = h - r1, h - r0
        if self.flip_x:
            c0, c1 = w - c1, w - c0
        return replace(self, top=self.top + r0, bottom=self.top + r1, left=self.left + c0, right=self.left + c1)

    def ops(self, height: int, width: int) -> list[Op]:
        """The IR ops of this view on a height x width pooled map: a Crop unless it keeps the whole
        map, then a Flip if it mirrors or transposes."""
        bounds = (self.top, self.bottom, self.left, self.right)
        crop: list[Op] = [] if bounds == (0, height, 0, width) else [Crop(*bounds)]
        return crop + ([Flip(self.flip_y, self.flip_x, self.swap_xy)] if self.flips else [])

    def address(self, y: int, x: int) -> tuple[int, int] | None:
        """Where an event at (y, x) of the pooled map leaves the view; None outside the rectangle."""
        if not (self.top <= y < self.bottom and self.left <= x < self.right):
            return None
        h, w = self.cropped
        y, x = y - self.top, x - self.left
        y = h - 1 - y if self.flip_y else y
        x = w - 1 - x if self.flip_x else x
        return (x, y) if self.swap_xy else (y, x)
