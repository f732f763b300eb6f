"""sinabs' own configuration of a network, recorded through the samna stand-in, and its comparison
with snnc's, matched by module name (docs/targets/speck.md §5, §8).

sinabs numbers layers by a topological sort over Python sets (speck.md §8), so layers are matched
by the module name of their convolution (or linear layer): sinabs' `GraphExtractor` keeps, per
layer, the node of its weight layer, and `DynapcnnNetworkModule.reindex_layers` gives the new
numbering, which `sinabs_network` records while sinabs builds the network.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

import snnc

UNWRITTEN_CORE = {"source"}  # snnc's own field


@dataclass
class Reference:
    """What sinabs wrote: the plain configuration, the fields it assigned per core and on the DVS
    layer, each layer's weight module and core, and the discretized network (to simulate)."""

    config: dict[str, Any]
    written: dict[int, list[str]]
    dvs_written: list[str]
    layers: dict[int, str]  # sinabs layer index → its weight module's name
    cores: dict[str, int]  # weight module → core
    network: Any


@contextlib.contextmanager
def _recording_order(dynapcnn):
    """Record the `index_order` sinabs renumbers its layers by (old index at each new position)."""
    cls = dynapcnn.dynapcnnnetwork_module.DynapcnnNetworkModule
    original = cls.reindex_layers
    seen = []

    def reindex(self, index_order):
        seen.append(list(index_order))
        return original(self, index_order)

    cls.reindex_layers = reindex
    try:
        yield seen
    finally:
        cls.reindex_layers = original


def sinabs_reference(case, device: str = "speck2fdevkit", monitor_layers: Any = None) -> Reference:
    import sinabs.backend.dynapcnn as dynapcnn
    from samna.configuration import plain

    model = case.build()
    with _recording_order(dynapcnn) as orders:
        net = dynapcnn.DynapcnnNetwork(model, input_shape=case.input_shape, discretize=True, dvs_input=case.dvs_input)
    (order,) = orders
    extractor = net._graph_extractor
    names = {index: name for name, index in extractor.name_2_indx_map.items()}
    layers = {new: names[extractor.dcnnl_info[old]["conv"]["node_id"]] for new, old in enumerate(order) if old != "dvs"}
    with contextlib.redirect_stdout(None):
        config = net.make_config(device=device, monitor_layers=monitor_layers)
    cores = {layers[index]: core for index, core in net.layer2core_map.items()}
    written = {core: sorted(config.cnn_layers[core].written()) for core in set(cores.values())}
    return Reference(plain(config), written, sorted(config.dvs_layer.written()), layers, cores, net)


def snnc_compiled(case, **options: Any):
    graph = snnc.load(case.build(), input_shape=case.input_shape)
    return snnc.compile(graph, "speck", dvs_input=case.dvs_input, **options)


def snnc_config(compiled) -> dict[str, Any]:
    from snnc.backends import get_target

    return get_target("speck").config(compiled.graph, compiled.options)


def compare(ref: Reference, config: dict[str, Any]) -> list[str]:
    """Every difference between sinabs' written fields and snnc's configuration (empty: equal)."""
    problems = []
    ours = {entry["source"]["weight"]: entry["core"] for entry in config["placement"]}
    if ours != ref.cores:
        problems.append(f"placement: sinabs {ref.cores}, snnc {ours}")
    for name, core in ref.cores.items():
        mine = config["cnn_layers"][ours.get(name, core)]
        theirs = ref.config["cnn_layers"][core]
        for key in ref.written[core]:
            want, got = theirs[key], mine[key]
            if key == "destinations":
                want = [d for d in want if d.get("enable")]
                got = [{k: d[k] for k in ("layer", "enable", "pooling")} for d in got if d["enable"]]
            if want != got:
                problems.append(f"{name} (core {core}) {key}: sinabs {_short(want)}, snnc {_short(got)}")
    for key in ref.dvs_written:
        want, got = ref.config["dvs_layer"][key], config["dvs_layer"][key]
        if key == "destinations":
            want = [d for d in want if d.get("enable")]
            got = [d for d in got if d["enable"]]
        if want != got:
            problems.append(f"dvs_layer {key}: sinabs {_short(want)}, snnc {_short(got)}")
    return problems


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 160 else text[:160] + "..."


def events(case, seed: int = 0) -> np.ndarray:
    """Random event counts [T, 1, C, H, W] (0, 1 or 2 events per element and step)."""
    rng = np.random.default_rng(seed)
    shape = (case.steps, 1, *case.input_shape)
    return (rng.random(shape) < case.rate).astype(np.float32) + (rng.random(shape) < case.rate / 4)


def sinabs_forward(ref: Reference, x: np.ndarray) -> dict[str, np.ndarray]:
    """sinabs' discretized network run as a torch module on `x` [T, 1, ...]: the exit layers' output
    spikes [T, numel] by weight-module name."""
    net = ref.network  # fresh from sinabs_reference: its states are the model's (an initialised one kept)
    with torch.no_grad():
        out = net(torch.from_numpy(x[:, 0]), return_complete=True)
    found = {}
    for index in net.exit_layer_ids:
        for dest, value in out[index].items():
            if isinstance(dest, int) and dest < 0:
                found[ref.layers[index]] = value.reshape(x.shape[0], -1).numpy()
    return found
