"""The dynamic capture: leaf calls whole, glue operations on traced tensors, arguments by position."""

import numpy as np
import torch
from torch import nn

import snnc.frontend
from snnc import sim
from snnc.frontend.capture import Ref, capture


class Glue(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.inner = nn.Sequential(nn.ReLU())

    def forward(self, x, scale=2.0):
        y = self.fc(x)
        return torch.cat([self.inner(y), y * scale], dim=1), x.shape[0]


def test_leaf_calls_are_recorded_whole_and_glue_by_function():
    cap = capture(Glue(), [torch.ones(2, 4)], lambda m: isinstance(m, (nn.Linear, nn.ReLU)))
    assert [(c.name, c.scope) for c in cap.calls] == [("fc", ""), ("inner.0", "inner"), ("mul", ""), ("cat", "")]
    fc, relu, mul, cat = cap.calls
    assert fc.refs() == [0] and relu.refs() == list(fc.outputs) and cat.refs() == [*relu.outputs, *mul.outputs]
    assert isinstance(cap.result[0], Ref) and cap.result[1] == 2  # shape arithmetic is not data flow


class KeywordState(nn.Module):
    """An snnTorch-style loop that passes the neuron's state by keyword."""

    def __init__(self):
        super().__init__()
        import snntorch as snn

        self.fc = nn.Linear(6, 5)
        self.lif = snn.Leaky(beta=0.75, threshold=0.5)

    def forward(self, x):
        mem, out = self.lif.init_leaky(), []
        for t in range(x.shape[0]):
            spk, mem = self.lif(self.fc(x[t]), mem=mem)
            out.append(spk)
        return torch.stack(out)


def test_state_passed_by_keyword_is_the_neurons_state():
    torch.manual_seed(0)
    model = KeywordState()
    with torch.no_grad():
        model.fc.weight.copy_(torch.round(model.fc.weight * 256) / 128)  # dyadic: exact sums
        model.fc.bias.zero_()
    x = (torch.rand(16, 3, 6) < 0.5).float()
    graph = snnc.frontend.load(model, (6,))
    with torch.no_grad():
        expected = model(x).numpy()
    result = sim.run(graph, x.numpy())
    np.testing.assert_array_equal(result.output, expected)
    assert 0 < expected.mean() < 1


class IteratesOverTime(nn.Module):
    """`for x_t in x:` (torch records one unbind of the input), a Leaky neuron threading its state."""

    def __init__(self):
        super().__init__()
        import snntorch as snn

        self.fc = nn.Linear(6, 5)
        self.lif = snn.Leaky(beta=0.5, threshold=0.75)

    def forward(self, x):
        mem, out = self.lif.init_leaky(), []
        for x_t in x:
            spk, mem = self.lif(self.fc(x_t), mem)
            out.append(spk)
        return torch.stack(out)


def test_a_loop_over_the_unbound_input_is_folded():
    torch.manual_seed(1)
    model = IteratesOverTime()
    with torch.no_grad():
        model.fc.weight.copy_(torch.round(model.fc.weight * 256) / 128)
        model.fc.bias.zero_()
    x = (torch.rand(12, 3, 6) < 0.5).float()
    graph = snnc.frontend.load(model, (6,))
    assert [n.op.kind for n in graph.nodes] == ["input", "linear", "neuron", "output"]
    with torch.no_grad():
        expected = model(x).numpy()
    np.testing.assert_array_equal(sim.run(graph, x.numpy()).output, expected)
    assert 0 < expected.mean() < 1
