"""The loihi target: options, pipeline, the artefacts `compile` writes, and the CLI."""

from __future__ import annotations

import json

import pytest
from loihi_graphs import conv_net, mlp

import snnc
from snnc import cli
from snnc.backends import get_target
from snnc.backends.loihi.lava import LavaDescription
from snnc.diagnostics import SnncError
from snnc.ir import AvgPool2d, Conv2d, Flatten, GraphBuilder, Linear, MaxPool2d, Neuron, serialize


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ({"pooling": "graded"}, "needs emit=lava"),
        ({"neurons_per_core": 0}, "at least 1"),
        ({"emit": "hdf5"}, "expected one of netx, lava"),
        ({"emit": "netx", "pooling": "graded"}, "needs emit=lava"),
        ({"bits": 8}, "has no option(s) bits"),
    ],
)
def test_bad_options_are_input_errors(given, words):
    with pytest.raises(SnncError) as e:
        get_target("loihi").options(given)
    assert e.value.diagnostics[0].rule == "TARGET-OPTION" and words in str(e.value)


def test_the_pipeline_follows_the_pooling_option():
    target = get_target("loihi")
    names = [p.name for p in target.pipeline(target.options())]
    assert names == [
        "canonicalize-neuron",
        "fold-bn",
        "avgpool-to-sumpool",
        "maxpool-to-or",
        "absorb-scale",
        "fold-sumpool",
        "sumpool-to-conv",
        "quantize",
        "ge-to-gt",
    ]
    graded = [p.name for p in target.pipeline(target.options(emit="lava"))]  # auto: graded for Lava processes
    assert "fold-sumpool" not in graded
    assert target.options(emit="lava", pooling="fold").pooling == "fold"


def pooled_net() -> snnc.Graph:
    """conv → IF (≥) → avg pool → conv → IF → max pool → flatten → fc → LIF."""
    b = GraphBuilder("pooled")
    c1 = b.add("conv1", Conv2d(weight=conv_net().node("conv").op.weight, padding=1), b.input("x", (2, 8, 8)))
    p1 = b.add("pool1", AvgPool2d(kernel=2), b.add("if1", Neuron(threshold=1.0, reset="zero"), c1))
    c2 = b.add("conv2", Conv2d(weight=conv_net().node("conv").op.weight[:, :2].repeat(2, 1)), p1)
    p2 = b.add("pool2", MaxPool2d(kernel=2), b.add("if2", Neuron(threshold=1.0, reset="zero"), c2))
    flat = b.add("flat", Flatten(), p2)
    b.output(
        "out",
        b.add(
            "lif",
            Neuron(threshold=1.0, reset="zero", fire_op="gt"),
            b.add("fc", Linear(weight=conv_net().node("fc").op.weight[:, :4]), flat),
        ),
    )
    return b.build()


def test_compile_writes_the_netx_file_the_partition_and_the_lowered_graph(tmp_path):
    compiled = snnc.compile(pooled_net(), "loihi", out_dir=tmp_path)
    assert set(compiled.artefacts) == {"netx", "partition.txt", "partition.json", "graph"}
    assert compiled.artefacts["netx"].name == "pooled.net"
    kinds = [n.op.kind for n in compiled.graph]
    assert "sumpool2d" not in kinds and "avgpool2d" not in kinds and "maxpool2d" not in kinds
    assert compiled.graph.node("pool2").op.kind == "conv2d"  # the OR of max pooling, a conv of ones
    assert all(n.op.fire_op == "gt" for n in compiled.graph if isinstance(n.op, Neuron))
    reloaded = serialize.load(compiled.artefacts["graph"])
    assert [n.name for n in reloaded] == [n.name for n in compiled.graph]
    report = json.loads(compiled.artefacts["partition.json"].read_text())
    assert report["chips"] == 1 and [layer["layer"] for layer in report["layers"]] == ["if1", "if2", "pool2.or", "lif"]


def test_graded_pooling_writes_a_lava_description(tmp_path):
    compiled = snnc.compile(pooled_net(), "loihi", out_dir=tmp_path, emit="lava", pooling="graded")
    description = LavaDescription.load(compiled.artefacts["lava"])
    assert [(layer.name, layer.kind, layer.lava_delay) for layer in description.layers] == [
        ("if1", "conv", 2),
        ("pool1", "pool", 3),
        ("if2", "conv", 4),
        ("pool2.or", "conv", 5),
        ("lif", "dense", 6),
    ]
    assert description.layers[2].num_message_bits > 0  # conv2 reads the pool's graded sums


def test_nothing_is_written_when_a_rule_fails(tmp_path):
    with pytest.raises(SnncError) as e:
        snnc.compile(mlp((5000, 2)), "loihi", out_dir=tmp_path)
    assert "LOIHI-FAN-IN" in {d.rule for d in e.value.diagnostics} and not list(tmp_path.iterdir())


def test_the_cli_compiles_and_checks(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    serialize.save(conv_net(), tmp_path / "conv.snnc")
    serialize.save(mlp((5000, 2, 9000)), tmp_path / "big.snnc")
    assert cli.main(["compile", "conv.snnc", "--target", "loihi", "-o", "out", "--max-chips", "2"]) == 0
    out = capsys.readouterr().out
    assert "wrote netx: out/conv.net" in out and "ge-to-gt" in out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "conv.loihi.snnc",
        "conv.net",
        "conv.partition.json",
        "conv.partition.txt",
    ]
    assert cli.main(["check", "big.snnc", "--target", "loihi", "--neurons-per-core", "9000"]) == 1
    out = capsys.readouterr().out
    for rule in ("LOIHI-FAN-IN", "LOIHI-NEURONS-PER-CORE", "2 error(s)"):
        assert rule in out
