"""NIR files read with the conventions of the library whose exporter wrote them.

NIR's neurons fire on v > θ, reset to v_reset in the same step, emit one spike and live in
continuous time (nir/ir/neuron.py); each library's exporter writes its neurons into that with
known losses (docs/library-semantics.md §7, tests/integration/test_nir_libraries.py), and none
records which library wrote the file or its dt. Given the producer (`snnc.load(path,
producer=...)`, `--nir-producer`), or recognising it from the parameter patterns its exporter
leaves, the reader inverts the exporter's formulas to the library's own parameters and builds
the Neuron the library's frontend would (snnc/frontend/<library>.py), float order included, so
that the simulation equals the library's forward pass. Every node the exporter does not write
(spike function, reset mechanism, min_v_mem, ...) takes the library's default, and the info note
(FE-NIR-PRODUCER) says which.

    producer      exporter (site-packages/…)                  what the reader restores
    spikingjelly  spikingjelly/activation_based/nir_exchange/ IF: r = 1/dt → h = v + x. LIF: τ_nir =
                  to_nir.py: map_if, map_lif, map_plif        τ·dt, r = 1 (decay_input) or τ → charge
                                                              "delta" / "delta_leak", x/τ; a PLIF's
                                                              τ = 1/sigmoid(w) → ×q. Fire h ≥ θ.
    snntorch      snntorch/export_nir.py:                     LIF: τ = dt/(1−β), r = τ/dt → β; CubaLIF:
                  _extract_snntorch_module                    w_in = τ_syn/dt → α. Subtract reset one
                                                              step late (reset_mechanism's default),
                                                              v > θ, v = β·v + x, i = α·i + x.
    sinabs        sinabs/nir.py: _extract_sinabs_module       IF: r = 1 (no dt). LIF: τ = tau_mem in
                                                              steps → α = exp(−1/τ), gain 1 − α
                                                              (norm_input). MultiSpike, subtract
                                                              reset, v ≥ θ (the layers' defaults).
    norse         norse/torch/utils/export_nir.py:            τ = dt/τ_mem_inv (dt the exporter's,
                  _extract_norse_module                       default 1e-3) → c_m = dt·τ_mem_inv.
                                                              LIF ← LIFBoxCell ("delta_box"), CubaLIF
                                                              ← LIFCell (current "euler", unscaled
                                                              input), IF ← IAFCell (h = v + x), LI ←
                                                              LIBoxCell. v > θ, zero reset.

Exporters compute their parameters in float32 (torch, numpy) or float64 (SpikingJelly). Where
the inverse is not exact in floats, the library parameter is found by search: the float32 values
next to the naive inverse whose exporter formula reproduces the file's values bit for bit, the
one with the shortest decimal form (users write 100.0 and 0.9) preferred.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from snnc.ir.ops import FloatOrder, Neuron
from snnc.nir.primitives import NodeParams, as_array

F32 = np.float32
PRODUCERS = ("spikingjelly", "snntorch", "sinabs", "norse")
NIR = "nir"  # NIR's own semantics: no producer's conventions
SJ_DT = 1e-4  # spikingjelly nir_exchange/to_nir.py: export_to_nir(dt=1e-4); snntorch export_nir.py: dt = 1e-4
NORSE_DT = 1e-3  # norse/torch/utils/export_nir.py: to_nir(dt=0.001)


@dataclass(frozen=True)
class Producer:
    """One exporter's conventions: which NIR neuron types it writes, how each inverts to the
    library's Neuron, the dt its formulas assume, and what the note says was restored."""

    name: str
    kinds: tuple[str, ...]
    restore: Callable[[str, NodeParams, float], Neuron]
    default_dt: float | None  # None: the exporter's formulas need no dt
    restored: str


def _f32(value: Any) -> np.ndarray:
    return np.asarray(value, F32)


def _shortest(values: np.ndarray) -> np.ndarray:
    """The candidate with the shortest decimal form (ties: the first)."""
    lengths = [len(np.format_float_positional(F32(v), unique=True, trim="-")) for v in values]
    return values[int(np.argmin(lengths))]


def invert(
    targets: list[np.ndarray], forward: Callable[[np.ndarray], list[np.ndarray]], naive: np.ndarray
) -> np.ndarray:
    """Per element, the float32 parameter p next to `naive` (within 64 ulps) for which the
    exporter's `forward(p)` gives exactly `targets`; the naive value where none does."""
    naive = _f32(naive)
    out = naive.copy()
    flat_targets = [np.broadcast_to(_f32(t), naive.shape) for t in targets]
    for index in np.ndindex(naive.shape):
        candidates = [naive[index]]
        up = down = naive[index]
        for _ in range(64):
            up, down = np.nextafter(up, F32(np.inf)), np.nextafter(down, F32(-np.inf))
            candidates += [up, down]
        candidates = _f32(candidates)
        results = forward(candidates)
        match = np.ones(len(candidates), bool)
        for result, target in zip(results, flat_targets):
            match &= _f32(result) == target[index]
        if match.any():
            out[index] = _shortest(candidates[match])
    return out


# --- SpikingJelly --------------------------------------------------------------------------------


def _spikingjelly(kind: str, p: NodeParams, dt: float) -> Neuron:
    """to_nir.py: map_if writes r = 1/dt (Euler: h = v + x); map_lif writes τ·dt, r = 1 with
    decay_input, else r = τ, v_leak = v_reset; map_plif the same with τ = 1/sigmoid(w). Fire
    `_ops/surrogate.py`: h ≥ θ; hard reset to v_reset, initial v = v_reset (snnc/frontend/spikingjelly.py)."""
    v_reset = _f32(p("v_reset"))
    fixed = {"threshold": _f32(p("v_threshold")), "reset": "zero", "v_reset": v_reset, "fire_op": "ge"}
    if kind == "IF":
        return Neuron(v_init=v_reset, **fixed)
    tau = p("tau") / dt
    q = _f32(1 / tau)
    plif = bool(np.all(np.abs(1 / q.astype(np.float64) - tau) <= 1e-12 * tau))  # τ = 1/q of a float32 q
    rate, rate_op = (q, "mul") if plif else (_f32(tau), "div")
    charge = "delta" if np.all(p("r") == 1) else "delta_leak"
    order = FloatOrder(charge, rate=rate, rate_op=rate_op, v_rest=_f32(p("v_leak")))
    return Neuron(float_order=order, v_init=v_reset, **fixed)


# --- snnTorch ------------------------------------------------------------------------------------


def _snntorch_decay(tau: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """β (or α) from export_nir.py's `tau = dt / (1 - beta)`, `r = tau / dt` in float32 numpy."""
    dt = SJ_DT

    def forward(beta: np.ndarray) -> list[np.ndarray]:
        t = dt / (1 - beta)
        return [t, t / dt]

    return invert([tau, ratio], forward, 1 - 1 / ratio)


def _snntorch(kind: str, p: NodeParams, dt: float) -> Neuron:
    """Leaky → LIF, Synaptic → CubaLIF (export_nir.py: _extract_snntorch_module): v_reset 0 written
    for every reset; restored: reset_mechanism "subtract" (the default) one step late, v > θ, initial
    state zero, β·v + x with β = clamp(β, 0, 1) (snnc/frontend/snntorch.py)."""
    tau, ratio = ("tau", "r") if kind == "LIF" else ("tau_mem", "r")
    beta = np.clip(_snntorch_decay(p(tau), p(ratio)), 0, 1)
    neuron = Neuron(
        threshold=_f32(p("v_threshold")), v_decay=beta, reset="subtract", reset_timing="next_step", fire_op="gt"
    )
    if kind == "CubaLIF":
        alpha = np.clip(_snntorch_decay(p("tau_syn"), p("w_in")), 0, 1)
        neuron = neuron.replace(i_decay=alpha)
    return neuron


# --- sinabs --------------------------------------------------------------------------------------


def _sinabs(kind: str, p: NodeParams, dt: float) -> Neuron:
    """IAF → IF (r = 1), LIF → LIF (τ = tau_mem, r = 1; sinabs/nir.py: _extract_sinabs_module).
    Restored: α_m = exp(−1/τ) as sinabs computes it in torch (layers/lif.py: alpha_mem_calculated),
    gain 1 − α_m (norm_input=True), MultiSpike, MembraneSubtract, v ≥ θ (snnc/frontend/sinabs.py)."""
    import torch

    fixed = {"threshold": _f32(p("v_threshold")), "reset": "subtract", "fire_op": "ge", "spikes": "multi"}
    if kind == "IF":
        return Neuron(**fixed)
    alpha = torch.exp(-1.0 / torch.from_numpy(_f32(p("tau"))))
    return Neuron(v_decay=alpha.numpy(), gain=(1 - alpha).numpy(), **fixed)


# --- Norse ---------------------------------------------------------------------------------------


def _norse_rate(tau: np.ndarray, dt: float) -> np.ndarray:
    """c = dt·τ_inv as Norse computes it (torch float32), from the file's τ = dt / τ_inv."""
    import torch

    def forward(inverse: np.ndarray) -> list[np.ndarray]:
        return [(dt / torch.from_numpy(inverse)).numpy()]

    inverse = invert([tau], forward, dt / tau)
    return (dt * torch.from_numpy(inverse)).numpy()


def _norse(kind: str, p: NodeParams, dt: float) -> Neuron:
    """norse/torch/utils/export_nir.py: _extract_norse_module writes τ = dt/τ_inv and r = 1; the
    Neuron of each cell as snnc/frontend/norse.py builds it: v > θ, reset to v_reset, initial v =
    v_leak (v_reset for IAF)."""
    if kind == "IF":
        v_reset = _f32(p("v_reset"))
        return Neuron(threshold=_f32(p("v_threshold")), reset="zero", v_reset=v_reset, fire_op="gt", v_init=v_reset)
    v_leak = _f32(p("v_leak"))
    tau = "tau" if kind in ("LIF", "LI") else "tau_mem"
    c_m = _norse_rate(_f32(p(tau)), dt)
    spiking = {"threshold": _f32(p("v_threshold")), "reset": "zero", "v_reset": _f32(p("v_reset")), "fire_op": "gt"}
    if kind == "LI":
        order = FloatOrder("delta", rate=c_m, v_rest=v_leak)
        return Neuron(float_order=order, v_init=v_leak, spikes="none", reset="none")
    if kind == "LIF":
        return Neuron(float_order=FloatOrder("delta_box", rate=c_m, v_rest=v_leak), v_init=v_leak, **spiking)
    c_s = -_norse_rate(_f32(p("tau_syn")), dt)  # −dt·τ_syn_inv: the product's sign flips exactly
    order = FloatOrder("delta", rate=c_m, v_rest=v_leak, current="euler")
    return Neuron(float_order=order, i_decay=c_s, input_order="current_first", v_init=v_leak, **spiking)


TABLE: dict[str, Producer] = {
    "spikingjelly": Producer(
        "spikingjelly", ("IF", "LIF"), _spikingjelly, SJ_DT, "fire on v >= threshold, SpikingJelly's float order"
    ),
    "snntorch": Producer(
        "snntorch",
        ("LIF", "CubaLIF"),
        _snntorch,
        None,
        "reset_mechanism 'subtract' applied one step late (snnTorch's default; the file writes v_reset = 0 for "
        "every reset), beta and alpha as trained",
    ),
    "sinabs": Producer(
        "sinabs",
        ("IF", "LIF"),
        _sinabs,
        None,
        "one time step per step (dt = 1), MultiSpike, MembraneSubtract and v >= threshold (the layers' defaults; "
        "min_v_mem and tau_syn are not in the file)",
    ),
    "norse": Producer(
        "norse",
        ("IF", "LIF", "CubaLIF", "LI"),
        _norse,
        NORSE_DT,
        "Norse's decay c = dt·tau_inv (the file writes tau = dt/tau_inv), its float order, the unscaled "
        "synaptic input of LIFCell and IAFCell's v + x",
    ),
}


# --- recognising the producer ----------------------------------------------------------------


def _dtype(node: Any, field: str) -> np.dtype:
    value = getattr(node, field, None)
    if hasattr(value, "detach"):
        return np.dtype(str(value.dtype).replace("torch.", ""))
    return np.asarray(value).dtype


def _close(a: np.ndarray, b: np.ndarray, rel: float = 1e-5) -> bool:
    return bool(np.all(np.abs(a - b) <= rel * np.abs(b)))


def _param(node: Any, field: str) -> np.ndarray:
    return as_array(getattr(node, field))


def _fits(name: str, kind: str, node: Any) -> tuple[bool, bool]:
    """Whether one neuron node could come from the producer's exporter, and whether it shows that
    exporter's hand (a pattern a hand-written or other exporter's file would not have)."""
    doubles = _dtype(node, "v_threshold") == np.float64
    ones = lambda field: bool(np.all(_param(node, field) == 1))  # noqa: E731
    zeros = lambda field: bool(np.all(_param(node, field) == 0))  # noqa: E731
    if name == "spikingjelly":  # float64 throughout (np.full); IF r = 1/dt; LIF r = 1, or τ without decay_input
        if not doubles or kind not in ("IF", "LIF"):
            return False, False
        if kind == "IF":
            return True, not ones("r") and _close(_param(node, "r") * SJ_DT, np.ones(()))
        tau = _param(node, "tau") / SJ_DT
        if not np.all(tau > 1):
            return False, False
        return ones("r") or _close(_param(node, "r"), tau), not ones("r") and _close(_param(node, "r"), tau)
    if doubles:
        return False, False
    if name == "snntorch":  # r = τ/dt, w_in = τ_syn/dt with dt = 1e-4; v_leak = v_reset = 0
        if kind not in ("LIF", "CubaLIF") or not (zeros("v_leak") and zeros("v_reset")):
            return False, False
        tau = _param(node, "tau" if kind == "LIF" else "tau_mem")
        fits = bool(np.all(_param(node, "r") > 1)) and _close(_param(node, "r") * SJ_DT, tau)
        fits = fits and (kind == "LIF" or _close(_param(node, "w_in") * SJ_DT, _param(node, "tau_syn")))
        return fits, fits
    if name == "sinabs":  # IF r = 1; LIF τ = tau_mem in steps, r = 1
        if kind == "IF":
            return ones("r") and zeros("v_reset"), False
        fits = kind == "LIF" and ones("r") and zeros("v_leak") and zeros("v_reset")
        fits = fits and bool(np.all(_param(node, "tau") >= 1))
        return fits, fits
    if name == "norse":  # r = 1; τ = dt/τ_inv below dt = 1e-3; CubaLIF w_in = 1
        if kind == "IF":
            return ones("r"), False
        if kind not in ("LIF", "CubaLIF", "LI") or not ones("r"):
            return False, False
        tau = _param(node, "tau" if kind in ("LIF", "LI") else "tau_mem")
        fits = bool(np.all(tau < NORSE_DT)) and (kind != "CubaLIF" or ones("w_in"))
        return fits, fits
    return False, False


NEURON_KINDS = ("IF", "LIF", "CubaLIF", "LI", "CubaLI", "I", "Threshold")


def recognise(nodes: dict[str, Any]) -> str | None:
    """The one producer whose exporter could have written every neuron node and whose hand at
    least one of them shows; None where the file does not show one."""
    neurons = [(type(n).__name__, n) for n in nodes.values() if type(n).__name__ in NEURON_KINDS]
    found = []
    for name in PRODUCERS:
        judged = [_fits(name, kind, node) for kind, node in neurons]
        if judged and all(fits for fits, _ in judged) and any(shows for _, shows in judged):
            found.append(name)
    return found[0] if len(found) == 1 else None
