"""The memory and placement rules of Speck: what each layer needs of a core (placement.py's
formulas), whether the user's --cores are usable, sinabs' assignment, and the per-layer placement
note. Registered with the other checks (checks.py, `CHECKS`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from snnc.backends.speck import spec
from snnc.backends.speck.checks import check, error, network
from snnc.backends.speck.grouping import Layer, Network
from snnc.backends.speck.placement import LARGEST, Memory, Placement, capacity_table, clog2, place
from snnc.diagnostics import Diagnostic, Severity
from snnc.ir.graph import Graph


def placement(graph: Graph, options: Any) -> Placement | None:
    """sinabs' assignment, with the user's valid fixed cores; None if the override is unusable."""
    net = network(graph)
    override = options.cores or {}
    if _override_problems(net, override):
        return None
    return place(net, _resolved(net, override))


def _override_problems(net: Network, override: dict[str, int]) -> list[Diagnostic]:
    found = []
    names = _layer_keys(net)
    for key, core in override.items():
        if key not in names:
            found.append(
                error(
                    "SPECK-CORE-OVERRIDE",
                    f"--cores names {key!r}, which is no layer; the layers are {', '.join(l.name for l in net.layers)}",
                    None,
                    "name layers by their convolution or linear module",
                )
            )
        elif not 0 <= core < spec.CORES.value:
            found.append(
                error(
                    "SPECK-CORE-OVERRIDE",
                    f"--cores puts {key} on core {core}; the cores are 0..{spec.CORES.value - 1}",
                    names[key],
                    "pick a core from 0 to 8",
                    measured=core,
                    limit=[0, spec.CORES.value - 1],
                )
            )
    cores = list(override.values())
    for core in sorted({c for c in cores if cores.count(c) > 1}):
        keys = [k for k, c in override.items() if c == core]
        found.append(
            error(
                "SPECK-CORE-OVERRIDE",
                f"--cores puts {', '.join(keys)} on the same core {core}",
                None,
                "one layer per core",
            )
        )
    return found


def _layer_keys(net: Network) -> dict[str, str]:
    """The names a user may give a layer by (its conv/linear node, that node's module, its neuron) → the layer."""
    keys = {}
    for layer in net.layers:
        for key in (layer.neuron.name, layer.conv.source, layer.name):
            keys[key] = layer.name
    return keys


def _resolved(net: Network, override: dict[str, int]) -> dict[str, int]:
    keys = _layer_keys(net)
    return {keys[k]: core for k, core in override.items()}


def _hint_kernel(layer: Layer) -> str:
    f, c, kh, kw = layer.conv.op.weight.shape  # type: ignore[attr-defined]
    words = 2 ** clog2(kh * kw)
    best = LARGEST.kernel // (c * words)
    fewer_inputs = LARGEST.kernel // (words * 2 ** clog2(f))
    inputs = f" or in_channels from {c} to {fewer_inputs}" if fewer_inputs >= 1 else ""
    if best >= 1:
        most = 2 ** (best.bit_length() - 1)
        return f"reduce out_channels from {f} to {most}{inputs} (kernel words count out_channels rounded up to 2^n)"
    return f"reduce in_channels from {c} or the kernel {kh}x{kw}"


def _hint_neuron(layer: Layer) -> str:
    f, ho, wo = layer.conv.type.shape
    cells = 2 ** (clog2(ho) + clog2(wo))
    most = LARGEST.neuron // cells
    fewer = f" or out_channels from {f} to {most}" if most >= 1 else ""
    return (
        f"pool or stride before it so its {ho}x{wo} map (counted as {2 ** clog2(ho)}x{2 ** clog2(wo)}) shrinks{fewer}"
    )


@check
def memory(graph: Graph, options: Any) -> Iterator[Diagnostic]:
    net = network(graph)
    override = options.cores or {}
    yield from _override_problems(net, override)
    if len(net.layers) > spec.CORES.value:
        yield error(
            "SPECK-CORES",
            f"the network has {len(net.layers)} layers; Speck has {spec.CORES.value} cores, one layer each",
            net.layers[spec.CORES.value].name,
            "merge or remove layers (a core runs one conv → IAF → pooling)",
            measured=len(net.layers),
            limit=spec.CORES.value,
        )
        return
    placed = placement(graph, options)
    if placed is None:
        return
    alone = True
    for layer in net.layers:
        need = placed.memory[layer.name]
        found = list(_memory_problems(layer, need))
        alone &= not found
        yield from found
        core = placed.cores[layer.name]
        if core is not None and not need.fits(spec.capacities()[core]):
            yield error(
                "SPECK-CORE-OVERRIDE",
                f"--cores puts {layer.name} on core {core}, which it does not fit ({_words(need)}; core {core} has "
                f"{_words(spec.capacities()[core])})",
                layer.name,
                f"pick one of the cores it fits: {', '.join(map(str, placed.fits[layer.name])) or 'none'}",
            )
    if alone and not placed.complete:
        unplaced = [name for name, core in placed.cores.items() if core is None]
        yield error(
            "SPECK-MEMORY-ASSIGNMENT",
            f"every layer fits some core, but no assignment gives each its own: {', '.join(unplaced)} find no free "
            f"core\n{capacity_table(placed)}",
            unplaced[0],
            "make a layer smaller so that it fits more cores (kernel memory is largest on cores 5 and 6, neuron "
            "memory on cores 0-2)",
            measured={name: placed.memory[name].as_dict() for name in placed.cores},
            limit=[c.__dict__ for c in spec.capacities()],
        )
    for layer in net.layers:
        core = placed.cores[layer.name]
        if core is not None:
            need = placed.memory[layer.name]
            yield Diagnostic(
                "SPECK-PLACEMENT",
                f"core {core}: {_words(need)} of {_words(spec.capacities()[core])}; fits cores "
                f"{', '.join(map(str, placed.fits[layer.name]))}",
                node=layer.name,
                severity=Severity.INFO,
                measured={"core": core, **need.as_dict()},
                limit=spec.capacities()[core].__dict__,
            )


def _words(m: Memory | spec.Capacity) -> str:
    return f"kernel {m.kernel:,}, neuron {m.neuron:,}, bias {m.bias:,} words"


def _memory_problems(layer: Layer, need: Memory) -> Iterator[Diagnostic]:
    """Why a layer fits no core: one memory too large for every core, or no core holding all three."""
    if need.kernel > LARGEST.kernel:
        yield error(
            "SPECK-MEMORY-KERNEL",
            f"kernel memory {need.kernel:,} words > {LARGEST.kernel:,} on every core",
            layer.name,
            _hint_kernel(layer),
            measured=need.kernel,
            limit=LARGEST.kernel,
        )
    if need.neuron > LARGEST.neuron:
        yield error(
            "SPECK-MEMORY-NEURON",
            f"neuron memory {need.neuron:,} words > {LARGEST.neuron:,} on every core",
            layer.name,
            _hint_neuron(layer),
            measured=need.neuron,
            limit=LARGEST.neuron,
        )
    if need.bias > LARGEST.bias:
        yield error(
            "SPECK-MEMORY-BIAS",
            f"bias memory {need.bias:,} words > {LARGEST.bias:,} on every core",
            layer.name,
            "reduce out_channels to 1024 or drop the bias",
            measured=need.bias,
            limit=LARGEST.bias,
        )
    fits_each = need.kernel <= LARGEST.kernel and need.neuron <= LARGEST.neuron and need.bias <= LARGEST.bias
    if fits_each and not any(need.fits(c) for c in spec.capacities()):
        yield error(
            "SPECK-MEMORY-PAIRING",
            f"{_words(need)}: no core holds both (cores with kernel memory for it have less neuron memory)\n"
            + "\n".join(f"  core {c.core}: {_words(c)}" for c in spec.capacities()),
            layer.name,
            f"{_hint_kernel(layer)}; or {_hint_neuron(layer)}",
            measured=need.as_dict(),
        )
