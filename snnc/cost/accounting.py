"""Which synaptic operations count as multiply-accumulates (MAC) and which as accumulates (AC).

The SNN papers (Spikformer, Spike-driven Transformer, ...; docs/cost/energy.md §2, §7a)
count a layer fed by real values as an ANN layer, `FLOPs · T` MACs, and every layer fed by spikes
as ACs. snnc decides per layer from the values the layer actually received (`InputStats.kind`):

- real (fractions, or signed values beyond ±1): MACs, dense: FLOPs for every step, as the papers
  count the encoding layer; `encoding_once` counts one pass per sample instead (papers differ),
  but only where the input was measured identical at every step;
- integer (non-negative counts > 1: sum-pooled spikes, a SEW ADD, multi-spikes, event frames):
  by default a count of k is k events, each an accumulate per connection, k ACs. That is how
  Speck computes it (sum pooling remaps addresses, so the k spikes of a window arrive as k events,
  each adding the weight once: docs/targets/speck.md §4) and how SOPs are counted in the
  literature and by sinabs (SynOps weight each input by its value: synsense/sinabs
  `sinabs/hooks.py`, docs/cost/energy.md §4). `integer_inputs="mac"` charges one MAC per non-zero
  input per connection instead: NeuroBench's Effective_MACs (docs/cost/energy.md §3) and Loihi 2's
  graded spikes, which carry k as one message's payload multiplied by the weight
  (docs/targets/loihi.md §2.3). An integer-valued real input (pixel intensities 0..255 not
  normalized) is also taken as counts; give it as real values, or choose "mac";
- binary or signed-binary: ACs, every input event × its exact fan-out (`sops="paper"` takes the
  papers' `fr · T · FLOPs` instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from snnc.cost.counting import SynapticCounts


@dataclass(frozen=True)
class Convention:
    encoding_once: bool = False
    integer_inputs: Literal["mac", "ac"] = "ac"
    sops: Literal["exact", "paper"] = "exact"

    def describe(self) -> str:
        once = "once per sample where the input is the same at every step" if self.encoding_once else "at every step"
        integer = (
            "integer-valued inputs (counts k > 1, e.g. sum-pooled spikes): one MAC per non-zero input per connection "
            "(--integer-inputs mac)"
            if self.integer_inputs == "mac"
            else "integer-valued inputs (counts k > 1, e.g. sum-pooled spikes): k events, k ACs per connection, as the "
            "chips add them (--integer-inputs mac: one MAC per non-zero input)"
        )
        sops = "input events × their exact fan-out" if self.sops == "exact" else "fr · T · FLOPs (paper estimate)"
        return (
            f"MAC: layers fed real values, dense FLOPs {once}; {integer}. AC: layers fed binary or ±1 values, {sops}. "
            "Average pooling of spikes is counted as the sum pooling event chips perform, its 1/k² in the next weights."
        )


@dataclass
class LayerOps:
    """Per step, summed over samples: what one synaptic layer is charged under a convention."""

    counted_as: Literal["ac", "mac", "mac-events", "event"]
    acs: np.ndarray
    macs: np.ndarray  # dense passes × FLOPs, or event-driven MACs
    passes: np.ndarray  # dense passes (real-valued input)
    drive: np.ndarray  # input events that trigger event-driven work (addressing, input reads)
    sops_paper: np.ndarray  # fr · T · FLOPs, per step: non-zero inputs / N_in · FLOPs
    once_refused: bool = False  # encoding_once was asked but the input changed over time


def layer_ops(s: SynapticCounts, convention: Convention, samples: int, events: np.ndarray | None = None) -> LayerOps:
    """The layer's charges; `events`, from an event-driven target model, makes every synaptic
    operation an accumulate (counted_as "event") whatever the input values."""
    zeros = np.zeros_like(s.events)
    paper = s.nonzero / s.in_numel * s.flops
    if events is not None:
        return LayerOps("event", events.copy(), zeros, zeros, s.events.copy(), paper)
    if s.kind == "real":
        once = convention.encoding_once and not s.stats.varies
        passes = np.full_like(s.events, float(samples))
        if once:
            passes[1:] = 0
        refused = convention.encoding_once and s.stats.varies
        return LayerOps("mac", zeros, passes * s.flops, passes, zeros, paper, refused)
    if s.kind == "integer" and convention.integer_inputs == "mac":
        return LayerOps("mac-events", zeros, s.sops_binary.copy(), zeros, s.nonzero.copy(), paper)
    acs = s.sops.copy() if convention.sops == "exact" else paper.copy()
    drive = s.events if s.kind in ("binary", "integer") else s.nonzero
    return LayerOps("ac", acs, zeros, zeros, drive.copy(), paper)
