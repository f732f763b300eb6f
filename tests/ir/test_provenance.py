"""Provenance: every node names the user's layer it stands for (`Node.source`), through
building, rewriting, saving and diagnostics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn

import snnc
from snnc.backends import get_target
from snnc.diagnostics import Diagnostic, Severity
from snnc.ir import BatchNorm, Conv2d, GraphBuilder, Linear, MaxPool2d, Neuron, serialize
from snnc.ir.printer import format_graph
from snnc.passes.base import PassContext, run_passes
from snnc.passes.fold_bn import FoldBN
from snnc.passes.maxpool_to_or import MaxpoolToOr


def pooled():
    b = GraphBuilder("g")
    lif = b.add("lif", Neuron(), b.input("x", (1, 4, 4)))
    b.output("out", b.add("pool", MaxPool2d(kernel=2), lif))
    return b.build()


def test_a_node_stands_for_itself_unless_told_otherwise():
    g = pooled()
    assert g.node("pool").source == "pool"
    b = GraphBuilder("g")
    b.add("fc.scale", Linear(np.ones((2, 2), np.float32)), b.input("x", (2,)), source="fc")
    node = b.build().node("fc.scale")
    assert node.source == "fc" and node.replace(name="renamed").source == "fc"


def test_inserted_nodes_keep_the_user_layer_and_diagnostics_name_it():
    out = run_passes(pooled(), [MaxpoolToOr()], PassContext(verify_each=True))
    inserted = [n for n in out if n.name not in ("x", "lif", "pool", "out")]
    assert inserted and {n.source for n in inserted} == {"pool"}
    assert "from pool" in format_graph(out)

    @dataclass(frozen=True)
    class Complains:
        name: ClassVar[str] = "complains"

        def __call__(self, graph, ctx):
            for n in inserted:
                ctx.emit(Diagnostic("PASS-BROKE-GRAPH", "test", node=n.name, severity=Severity.INFO))
            return graph

    ctx = PassContext()
    run_passes(out, [Complains()], ctx)
    assert {d.source for d in ctx.diagnostics} == {"pool"}
    assert f"[{inserted[0].name}, from pool]" in ctx.diagnostics[0].render()
    assert ctx.diagnostics[0].to_dict()["source"] == "pool"


def test_the_file_keeps_the_source_and_plain_graphs_stay_byte_identical():
    out = run_passes(pooled(), [MaxpoolToOr()], PassContext())
    back = serialize.loads(serialize.dumps(out))
    assert [n.source for n in back] == [n.source for n in out]
    assert b'"source"' not in serialize.dumps(pooled())


def test_a_folded_batchnorm_is_named_by_the_layer_that_took_it_in_print_file_and_chip_config():
    b = GraphBuilder("g")
    conv = b.add("conv", Conv2d(weight=np.ones((2, 1, 3, 3), np.float32)), b.input("x", (1, 6, 6)))
    ones = np.ones(2, np.float32)
    norm = BatchNorm(mean=0 * ones, var=ones, weight=2 * ones, bias=0 * ones, eps=0.0)
    b.output("out", b.add("iaf", Neuron(threshold=1.0, spikes="multi", v_min=-1.0), b.add("bn", norm, conv)))
    out = run_passes(b.build(), [FoldBN()], PassContext())
    assert out.node("conv").folded == ("bn",) and "folds bn" in format_graph(out)
    assert serialize.loads(serialize.dumps(out)).node("conv").folded == ("bn",)
    assert b'"folded"' not in serialize.dumps(pooled())  # only where something was folded
    compiled = snnc.compile(b.build(), "speck")
    (core,) = [c for c in get_target("speck").config(compiled.graph)["cnn_layers"] if c["source"]]
    assert core["source"] == {"weight": "conv", "neuron": "iaf", "pooling": [], "folded": ["bn"]}


def test_the_frontend_names_the_module_of_every_node_it_makes():
    """snnTorch's RLeaky makes a feedback Delay beside its neuron (standing for the RLeaky module)
    and converts its child Linear `recurrent` (its own module path)."""
    snntorch = __import__("pytest").importorskip("snntorch")

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)
            self.rlif = snntorch.RLeaky(beta=0.9, linear_features=3, init_hidden=True)

        def forward(self, x):
            return self.rlif(self.fc(x))

    torch.manual_seed(0)
    graph = snnc.load(Net(), input_shape=(4,))
    made = {n.name: n.source for n in graph if n.name.startswith("rlif.")}
    assert made == {"rlif.feedback": "rlif", "rlif.recurrent": "rlif.recurrent"}
