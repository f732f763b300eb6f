"""Models written the way each library's tutorials, examples and model zoos write them, built with
the real library, loaded by snnc as written and simulated: the outputs equal the library's forward
exactly (or one precise diagnostic names the module, the line and the change).

    snnTorch      tutorial 5 (a loop over a static [B, 784] input, stacked spikes and membranes, or
                  their sum); the regression tutorial's membrane readout;
                  the docs' CNN (F.max_pool2d, x[step] over a fixed num_steps beyond snnc's example,
                  a view to a global batch size); a batch-first loop (x[:, t]); tutorial 6's Net
                  (state re-initialised at every call: refused, naming the line)
    SpikingJelly  conv_fashion_mnist's CSNN (repeats a static image over T and returns the rate); a
                  network that transposes its batch-first input itself;
                  the model zoo's CIFAR10DVSNet (PLIF, VotingLayer) and spiking_resnet18
    sinabs        the quick start's from_model network on a static image repeated over time; a
                  state dict saved after a forward pass, reloaded through a factory file; a BPTT
                  network of IAF/LIF layers on [B, T, ...]
    Norse         the README's SequentialState of cells stepped by the user, and a user module
                  written as one such step; models.conv.ConvNet (x[ts, :], F.max_pool2d, writes
                  into a preallocated output); LSNN (refused)

Weights are scaled up where a freshly initialised layer would not make its neurons fire, so that
every comparison sees spikes. Sizes are small: the whole file runs in well under a minute.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import snnc
from snnc.diagnostics import SnncError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
B = 3


def _spikes(shape: tuple[int, ...], p: float = 0.5, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random(shape) < p).astype(np.float32)


def _scale(*layers: nn.Module, by: float) -> None:
    with torch.no_grad():
        for layer in layers:
            layer.weight.mul_(by)


def _notes(model: nn.Module, **load) -> tuple[snnc.Graph, list]:
    notes: list = []
    return snnc.load(model, diagnostics=notes, **load), notes


def _refusal(model: nn.Module, **load):
    with pytest.raises(SnncError) as err:
        snnc.load(model, **load)
    (d,) = err.value.diagnostics
    return d


# --- snnTorch ------------------------------------------------------------------------------------

snn = pytest.importorskip("snntorch")
num_steps = 25  # the tutorials' globals
batch_size = B


class Tutorial5(nn.Module):
    """snnTorch tutorial 5, as written: the same [B, 784] image enters fc1 at every step; `rate`
    returns the summed output spikes instead (the docs' rate-coded classifier)."""

    def __init__(self, rate: bool = False) -> None:
        super().__init__()
        self.fc1, self.lif1 = nn.Linear(784, 64), snn.Leaky(beta=0.95)
        self.fc2, self.lif2 = nn.Linear(64, 10), snn.Leaky(beta=0.95)
        self.rate = rate

    def forward(self, x):
        mem1 = self.lif1.init_leaky()
        mem2 = self.lif2.init_leaky()
        spk2_rec, mem2_rec = [], []
        for _step in range(num_steps):
            cur1 = self.fc1(x)
            spk1, mem1 = self.lif1(cur1, mem1)
            cur2 = self.fc2(spk1)
            spk2, mem2 = self.lif2(cur2, mem2)
            spk2_rec.append(spk2)
            mem2_rec.append(mem2)
        if self.rate:
            return torch.stack(spk2_rec).sum(dim=0)
        return torch.stack(spk2_rec, dim=0), torch.stack(mem2_rec, dim=0)


def test_snntorch_tutorial_5_loops_over_a_static_input():
    torch.manual_seed(0)
    model = Tutorial5()
    _scale(model.fc1, by=4.0)
    graph, notes = _notes(model)
    (x_node,) = graph.inputs
    assert (x_node.op.time, x_node.op.steps, x_node.type.shape) == ("static", num_steps, (784,))
    assert {n.rule for n in notes} == {"FE-TIME-LAYOUT"}  # a static input; mem2 is state, not an output
    x = _spikes((B, 784), p=0.3)
    with torch.no_grad():
        expected = model(torch.from_numpy(x))[0].numpy()
    got = snnc.simulate(graph, x).output  # one frame, held for the model's 25 steps
    assert got.shape == (num_steps, B, 10) and expected.sum() > 10
    np.testing.assert_array_equal(got, expected)
    model.rate = True  # the same loop returning the spike count: the graph outputs every step
    graph, notes = _notes(model)
    assert any("sum over time" in n.message for n in notes)
    with torch.no_grad():
        counts = model(torch.from_numpy(x)).numpy()
    np.testing.assert_array_equal(snnc.simulate(graph, x).output.sum(0), counts)


class DocsCNN(nn.Module):
    """The snnTorch docs' convolutional network: F.max_pool2d, x[step] over a fixed num_steps (more
    steps than snnc's example has) and a view to the global batch size."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.lif1 = nn.Conv2d(1, 4, 5), snn.Leaky(beta=0.5)
        self.conv2, self.lif2 = nn.Conv2d(4, 8, 5), snn.Leaky(beta=0.5)
        self.fc1, self.lif3 = nn.Linear(8 * 4 * 4, 10), snn.Leaky(beta=0.5)

    def forward(self, x):
        mem1, mem2, mem3 = self.lif1.init_leaky(), self.lif2.init_leaky(), self.lif3.init_leaky()
        spk3_rec = []
        for step in range(num_steps):
            cur1 = F.max_pool2d(self.conv1(x[step]), 2)
            spk1, mem1 = self.lif1(cur1, mem1)
            cur2 = F.max_pool2d(self.conv2(spk1), 2)
            spk2, mem2 = self.lif2(cur2, mem2)
            cur3 = self.fc1(spk2.view(batch_size, -1))
            spk3, mem3 = self.lif3(cur3, mem3)
            spk3_rec.append(spk3)
        return torch.stack(spk3_rec)


def test_snntorch_docs_cnn_with_functional_pooling_and_a_fixed_loop():
    torch.manual_seed(1)
    model = DocsCNN()
    _scale(model.conv1, model.conv2, model.fc1, by=3.0)
    graph, notes = _notes(model, input_shape=(1, 28, 28))
    assert graph.inputs[0].op.time == "sequence"
    assert any("fixed batch size of 3" in n.message for n in notes)
    x = _spikes((num_steps, B, 1, 28, 28), p=0.3)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    assert expected.sum() > 10
    np.testing.assert_array_equal(snnc.simulate(graph, x).output, expected)


class BatchFirst(nn.Module):
    """A loop over batch-first data, x[:, t] (the time axis second)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc, self.lif = nn.Linear(12, 6), snn.Synaptic(alpha=0.7, beta=0.8)

    def forward(self, x):
        syn, mem = self.lif.init_synaptic()
        out = []
        for t in range(x.shape[1]):
            spk, syn, mem = self.lif(self.fc(x[:, t]), syn, mem)
            out.append(spk)
        return torch.stack(out, dim=1)


def test_snntorch_loop_over_batch_first_data():
    torch.manual_seed(2)
    model = BatchFirst()
    _scale(model.fc, by=3.0)
    graph, notes = _notes(model)
    assert any("batch-first" in n.message for n in notes)
    x = _spikes((B, 10, 12))  # the model's own layout [B, T, 12]
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    got = snnc.simulate(graph, x.transpose(1, 0, 2)).output  # snnc's data: time-major
    assert expected.sum() > 5
    np.testing.assert_array_equal(got.transpose(1, 0, 2), expected)


class Regression(nn.Module):
    """snnTorch's regression tutorial: a hidden Leaky layer and a Leaky readout without reset whose
    membranes the model returns (stacked), summed over time by the caller."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.lif1 = nn.Linear(1, 16), snn.Leaky(beta=0.9)
        self.fc2, self.lif2 = nn.Linear(16, 1), snn.Leaky(beta=0.8, reset_mechanism="none")

    def forward(self, x):
        mem1, mem2, mem_rec = self.lif1.init_leaky(), self.lif2.init_leaky(), []
        for step in range(x.size(0)):
            spk1, mem1 = self.lif1(self.fc1(x[step]), mem1)
            _, mem2 = self.lif2(self.fc2(spk1), mem2)
            mem_rec.append(mem2)
        return torch.stack(mem_rec)


def test_snntorch_regression_readout_returns_its_membrane():
    torch.manual_seed(10)
    model = Regression()
    _scale(model.fc1, by=4.0)
    graph = snnc.load(model)
    x = np.random.default_rng(10).random((20, B, 1), dtype=np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    assert np.abs(np.diff(expected, axis=0)).max() > 0
    np.testing.assert_array_equal(snnc.simulate(graph, x).output, expected)


class Tutorial6Net(nn.Module):
    """snnTorch tutorial 6's first Net: it re-initialises every membrane at each call."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.lif1 = nn.Linear(8, 4), snn.Leaky(beta=0.5)

    def forward(self, x):
        mem1 = self.lif1.init_leaky()
        spk1, mem1 = self.lif1(self.fc1(x), mem1)
        return spk1, mem1


def test_snntorch_state_reinitialised_at_every_call_is_refused_at_its_line():
    d = _refusal(Tutorial6Net())
    assert (d.rule, d.node) == ("FE-STATE", "lif1") and "test_tutorials.py:" in d.message
    assert "previous step" in d.hint


# --- SpikingJelly --------------------------------------------------------------------------------


def _sj():
    pytest.importorskip("spikingjelly.activation_based")
    from spikingjelly.activation_based import functional, layer, neuron, surrogate

    return functional, layer, neuron, surrogate


class CSNN(nn.Module):
    """spikingjelly/activation_based/examples/conv_fashion_mnist.py: CSNN, as written (smaller)."""

    def __init__(self, T: int, channels: int) -> None:
        super().__init__()
        functional, layer, neuron, surrogate = _sj()
        self.T = T
        self.conv_fc = nn.Sequential(
            layer.Conv2d(1, channels, kernel_size=3, padding=1, bias=False),
            layer.BatchNorm2d(channels),
            neuron.IFNode(surrogate_function=surrogate.ATan()),
            layer.MaxPool2d(2, 2),
            layer.Flatten(),
            layer.Linear(channels * 7 * 7, 10, bias=False),
            neuron.IFNode(surrogate_function=surrogate.ATan()),
        )
        functional.set_step_mode(self, step_mode="m")

    def forward(self, x: torch.Tensor):
        x_seq = x.unsqueeze(0).expand(self.T, -1, -1, -1, -1)
        x_seq = self.conv_fc(x_seq)
        return x_seq.mean(0)


def test_spikingjelly_conv_fashion_mnist_repeats_a_static_image_and_returns_the_rate():
    functional, *_ = _sj()
    torch.manual_seed(3)
    model = CSNN(T=8, channels=4).eval()
    _scale(model.conv_fc[0], by=2.0)
    _scale(model.conv_fc[5], by=3.0)
    graph, notes = _notes(model, input_shape=(1, 14, 14))
    assert (graph.inputs[0].op.time, graph.inputs[0].op.steps) == ("static", 8)
    assert any("mean over time" in n.message for n in notes)
    x = np.random.default_rng(3).random((B, 1, 14, 14), dtype=np.float32)
    functional.reset_net(model)
    with torch.no_grad():
        rate = model(torch.from_numpy(x)).numpy()
    got = snnc.simulate(graph, x).output.mean(0)
    assert rate.sum() > 0
    np.testing.assert_array_equal(got, rate)


class SwapsToTimeMajor(nn.Module):
    """A multi-step network whose forward takes batch-first data and transposes it itself."""

    def __init__(self) -> None:
        super().__init__()
        functional, layer, neuron, _ = _sj()
        self.net = nn.Sequential(layer.Linear(10, 8), neuron.LIFNode(tau=2.0), layer.Linear(8, 4), neuron.IFNode())
        functional.set_step_mode(self, "m")

    def forward(self, x):
        return self.net(x.transpose(0, 1)).transpose(0, 1)  # [B, T, ...] in and out


def test_spikingjelly_network_that_transposes_batch_first_data_itself():
    functional, *_ = _sj()
    torch.manual_seed(13)
    model = SwapsToTimeMajor()
    _scale(model.net[0], model.net[2], by=4.0)
    graph, notes = _notes(model)
    assert any("batch-first" in n.message for n in notes)
    x = _spikes((B, 9, 10))
    functional.reset_net(model)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    assert expected.sum() > 3
    np.testing.assert_array_equal(snnc.simulate(graph, x.transpose(1, 0, 2)).output.transpose(1, 0, 2), expected)


def test_spikingjelly_model_zoo_plif_net_with_a_voting_layer():
    """model/parametric_lif_net.py: CIFAR10DVSNet is traced through; its VotingLayer averages
    groups of 10 outputs with F.avg_pool1d (layer/misc.py: VotingLayer)."""
    functional, _, neuron, surrogate = _sj()
    from spikingjelly.activation_based.model import parametric_lif_net

    torch.manual_seed(4)
    model = parametric_lif_net.CIFAR10DVSNet(
        channels=2, spiking_neuron=neuron.ParametricLIFNode, surrogate_function=surrogate.ATan(), detach_reset=True
    )
    functional.set_step_mode(model, "m")
    model.eval()
    _scale(*[m for m in model.modules() if isinstance(m, nn.Conv2d)], by=6.0)
    _scale(*[m for m in model.modules() if isinstance(m, nn.Linear)], by=10.0)
    graph = snnc.load(model, input_shape=(2, 128, 128))
    x = _spikes((4, 2, 2, 128, 128), p=0.3)
    functional.reset_net(model)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    assert expected.shape == (4, 2, 10) and expected.any()
    np.testing.assert_array_equal(snnc.simulate(graph, x).output, expected)


def test_spikingjelly_model_zoo_spiking_resnet18():
    functional, _, neuron, surrogate = _sj()
    from snnc.frontend.spikingjelly import import_zoo

    spiking_resnet = import_zoo("spikingjelly.activation_based.model.spiking_resnet")
    torch.manual_seed(5)
    model = spiking_resnet.spiking_resnet18(
        spiking_neuron=neuron.IFNode, surrogate_function=surrogate.ATan(), detach_reset=True, num_classes=10
    )
    functional.set_step_mode(model, "m")
    model.eval()
    _scale(*[m for m in model.modules() if isinstance(m, nn.Conv2d)], by=4.0)
    graph = snnc.load(model, input_shape=(3, 32, 32))
    x = _spikes((3, 2, 3, 32, 32), p=0.4)
    functional.reset_net(model)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    np.testing.assert_array_equal(snnc.simulate(graph, x).output, expected)


# --- sinabs --------------------------------------------------------------------------------------


def _sinabs_run(model: nn.Module, flat: torch.Tensor, steps: int) -> np.ndarray:
    import sinabs

    sinabs.reset_states(model)
    with torch.no_grad():
        out = model(flat)
    return out.reshape(-1, steps, *out.shape[1:]).transpose(0, 1).numpy()


def test_sinabs_quick_start_from_model_on_a_static_image():
    """sinabs' quick start: a trained ANN turned into IAF layers by from_model, fed an image
    repeated over n time steps ([B·T, ...], batch-major)."""
    sinabs = pytest.importorskip("sinabs")
    torch.manual_seed(6)
    ann = nn.Sequential(
        nn.Conv2d(1, 4, 5, 1, bias=False), nn.ReLU(), nn.AvgPool2d(2, 2),
        nn.Conv2d(4, 8, 5, 1, bias=False), nn.ReLU(), nn.AvgPool2d(2, 2),
        nn.Flatten(), nn.Linear(8 * 4 * 4, 10, bias=False), nn.ReLU(),
    )  # fmt: skip
    _scale(ann[0], ann[3], ann[7], by=3.0)
    steps = 10
    model = sinabs.from_model(ann, input_shape=(1, 28, 28), add_spiking_output=True, batch_size=B).spiking_model
    graph = snnc.load(model, input_shape=(1, 28, 28))
    image = np.random.default_rng(6).random((B, 1, 28, 28), dtype=np.float32)
    repeated = torch.from_numpy(image).unsqueeze(1).repeat(1, steps, 1, 1, 1).flatten(0, 1)  # [B·T, ...]
    expected = _sinabs_run(model, repeated, steps)
    x = np.broadcast_to(image, (steps, *image.shape))  # time-major, the image at every step
    assert expected.sum() > 10
    np.testing.assert_array_equal(snnc.simulate(graph, x).output, expected)


def test_sinabs_state_dict_saved_after_a_forward_pass_loads_through_a_factory_file(tmp_path):
    pytest.importorskip("sinabs")
    (tmp_path / "speck_net.py").write_text(
        "import torch\n"
        "import sinabs.layers as sl\n"
        "from torch import nn\n"
        "def build():\n"
        "    return nn.Sequential(\n"
        "        nn.Conv2d(2, 4, 3, bias=False), sl.IAFSqueeze(batch_size=3, min_v_mem=-1.0), sl.SumPool2d(2),\n"
        "        nn.Flatten(), nn.Linear(4 * 3 * 3, 5, bias=False), sl.IAFSqueeze(batch_size=3, min_v_mem=-1.0),\n"
        "    )\n"
    )
    import importlib.util

    spec = importlib.util.spec_from_file_location("speck_net", tmp_path / "speck_net.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.manual_seed(7)
    trained = module.build()
    _scale(trained[0], by=3.0)
    _scale(trained[4], by=3.0)
    flat = torch.from_numpy(_spikes((B * 6, 2, 8, 8), p=0.4))
    trained(flat)  # a forward pass leaves v_mem of the batch's shape in the state dict
    torch.save(trained.state_dict(), tmp_path / "weights.pt")
    notes: list = []
    graph = snnc.load(
        f"{tmp_path / 'speck_net.py'}:build", input_shape=(2, 8, 8), weights=tmp_path / "weights.pt", diagnostics=notes
    )
    assert [n.rule for n in notes] == ["FE-WEIGHTS-STATE"] and "1.v_mem" in notes[0].message
    expected = _sinabs_run(trained, flat, 6)
    got = snnc.simulate(graph, flat.numpy().reshape(B, 6, 2, 8, 8).transpose(1, 0, 2, 3, 4)).output
    assert expected.any()
    np.testing.assert_array_equal(got, expected)


def test_sinabs_bptt_network_on_batch_first_sequences():
    """sinabs' BPTT tutorials: IAF/LIF layers (not squeezed) on [B, T, ...] sequences, a Repeat'ed
    flatten and a min_v_mem."""
    pytest.importorskip("sinabs")
    import sinabs.layers as sl

    torch.manual_seed(11)
    model = nn.Sequential(
        sl.Repeat(nn.Conv2d(2, 4, 3)), sl.IAF(min_v_mem=-1.0), sl.Repeat(nn.Flatten()),
        nn.Linear(4 * 6 * 6, 10), sl.LIF(tau_mem=torch.tensor(8.0), spike_threshold=0.5),
    )  # fmt: skip
    _scale(model[0].module, by=3.0)
    _scale(model[3], by=6.0)
    graph = snnc.load(model, input_shape=(2, 8, 8))
    x = _spikes((B, 12, 2, 8, 8), p=0.4)  # the model's [B, T, ...]
    import sinabs

    sinabs.reset_states(model)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    got = snnc.simulate(graph, x.transpose(1, 0, 2, 3, 4)).output.transpose(1, 0, 2)
    assert expected.sum() > 5
    np.testing.assert_array_equal(got, expected)


# --- Norse ---------------------------------------------------------------------------------------


def _norse():
    return pytest.importorskip("norse.torch")


def test_norse_readme_sequential_state_stepped_by_the_user():
    """Norse's README model: the user calls `out, s = model(x[t], s)`; snnc steps it the same way."""
    norse = _norse()
    torch.manual_seed(8)
    model = norse.SequentialState(nn.Linear(10, 16), norse.LIFCell(), nn.Linear(16, 4), norse.LIFBoxCell())
    _scale(model[0], by=8.0)
    _scale(model[2], by=12.0)
    graph = snnc.load(model)
    x = _spikes((30, B, 10))
    state, out = None, []
    with torch.no_grad():
        for t in range(x.shape[0]):
            z, state = model(torch.from_numpy(x[t]), state)
            out.append(z.numpy())
    expected = np.stack(out)
    assert expected.sum() > 5
    np.testing.assert_array_equal(snnc.simulate(graph, x).output, expected)


class OneStep(nn.Module):
    """A user module written as one step of the state protocol, `(x_t, state) -> (out, state)`."""

    def __init__(self) -> None:
        super().__init__()
        norse = _norse()
        self.fc1, self.lif1 = nn.Linear(10, 12), norse.LIFBoxCell()
        self.fc2, self.lif2 = nn.Linear(12, 4), norse.IAFCell()

    def forward(self, x, state=None):
        s1, s2 = (None, None) if state is None else state
        z, s1 = self.lif1(self.fc1(x), s1)
        z, s2 = self.lif2(self.fc2(z), s2)
        return z, (s1, s2)


def test_a_module_written_as_one_step_of_the_state_protocol_is_stepped_by_snnc():
    torch.manual_seed(12)
    model = OneStep()
    _scale(model.fc1, by=10.0)
    _scale(model.fc2, by=3.0)
    graph = snnc.load(model)
    x = _spikes((25, B, 10))
    state, out = None, []
    with torch.no_grad():
        for t in range(x.shape[0]):
            z, state = model(torch.from_numpy(x[t]), state)
            out.append(z.numpy())
    expected = np.stack(out)
    assert expected.sum() > 5
    np.testing.assert_array_equal(snnc.simulate(graph, x).output, expected)


def test_norse_model_zoo_convnet():
    """norse/torch/models/conv.py: ConvNet (x[ts, :], F.max_pool2d, `10 * conv2(z)`, a LILinearCell
    readout written into a preallocated tensor, voltages[ts, :, :] = v)."""
    _norse()
    from norse.torch.models.conv import ConvNet

    torch.manual_seed(9)
    model = ConvNet(num_channels=1, feature_size=16)
    _scale(model.conv1, by=20.0)
    graph = snnc.load(model, input_shape=(1, 16, 16))
    x = _spikes((6, 2, 1, 16, 16), p=0.5)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    assert np.abs(expected).max() > 0
    np.testing.assert_array_equal(snnc.simulate(graph, x).output, expected)


def test_norse_lsnn_is_refused_naming_the_adaptive_threshold():
    norse = _norse()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = _refusal(norse.SequentialState(nn.Linear(10, 8), norse.LSNNCell()), input_shape=(10,))
    assert (d.rule, d.node) == ("FE-UNSUPPORTED-OP", "1") and "adapts its threshold" in d.message
    assert "LIFCell" in d.hint
