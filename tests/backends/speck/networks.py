"""The networks snnc's Speck backend is compared with sinabs on (docs/targets/speck.md §1.3, §2, §8).

Each `Case` builds a sinabs model (weights drawn from a fixed seed) and says how sinabs' own
`DynapcnnNetwork` takes it. sinabs.backend.dynapcnn imports samna, so the DVS cases are built only
once the recording stand-in is importable (tests/backends/speck/conftest.py, the golden regenerator).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sinabs.layers as sl
import torch
from sinabs.activation import MembraneReset, SingleSpike
from sinabs.from_torch import from_model
from torch import nn


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[], nn.Module]
    input_shape: tuple[int, int, int]
    dvs_input: bool = False
    golden: bool = True  # small enough to keep its configuration in tests/golden/speck/
    rate: float = 0.2  # input events per element and step in the simulation comparison
    steps: int = 12
    notes: dict = field(default_factory=dict)


def _seeded(model: nn.Module, seed: int, scale: float = 0.5) -> nn.Module:
    """Deterministic weights (and biases where the layer has them), normal with std `scale`."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * scale)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * scale * 0.2)
    return model.eval()


def iaf(**kwargs) -> sl.IAFSqueeze:
    return sl.IAFSqueeze(batch_size=1, min_v_mem=kwargs.pop("min_v_mem", -1.0), **kwargs)


def auto_mapping() -> nn.Module:
    """sinabs tests/test_dynapcnn/test_auto_mapping.py: its cores are {0:0, 1:3, 2:5, 3:6, 4:1}."""
    ann = nn.Sequential(
        nn.Conv2d(1, 20, 5, 1, bias=False),
        nn.ReLU(),
        nn.AvgPool2d(2, 2),
        nn.Conv2d(20, 32, 5, 1, bias=False),
        nn.ReLU(),
        nn.AvgPool2d(2, 2),
        nn.Conv2d(32, 128, 3, 1, bias=False),
        nn.ReLU(),
        nn.AvgPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(128, 500, bias=False),
        nn.ReLU(),
        nn.Linear(500, 10, bias=False),
    )
    _seeded(ann, 1, 0.2)
    return from_model(ann, add_spiking_output=True, batch_size=1).spiking_model.eval()


def large_net() -> nn.Module:
    """sinabs tests/test_dynapcnn/test_large_net.py (DynapCnnNetA): cores [0,1,2,8,4,5,6,3,7]."""
    relu = sl.NeuromorphicReLU
    seq = nn.Sequential(
        nn.Conv2d(2, 16, kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), bias=False),
        relu(fanout=144),
        nn.Identity(),
        nn.Conv2d(16, 16, kernel_size=(3, 3), padding=(1, 1), bias=False),
        relu(fanout=288),
        nn.AvgPool2d(kernel_size=(2, 2), stride=(2, 2)),
        nn.Conv2d(16, 32, kernel_size=(3, 3), padding=(1, 1), bias=False),
        relu(fanout=288),
        nn.AvgPool2d(kernel_size=(2, 2), stride=(2, 2)),
        nn.Conv2d(32, 32, kernel_size=(3, 3), padding=(1, 1), bias=False),
        relu(fanout=576),
        nn.AvgPool2d(kernel_size=(2, 2), stride=(2, 2)),
        nn.Conv2d(32, 64, kernel_size=(3, 3), padding=(1, 1), bias=False),
        relu(fanout=576),
        nn.AvgPool2d(kernel_size=(2, 2), stride=(2, 2)),
        nn.Conv2d(64, 64, kernel_size=(3, 3), padding=(1, 1), bias=False),
        relu(fanout=1024),
        nn.AvgPool2d(kernel_size=(2, 2), stride=(2, 2)),
        nn.Dropout2d(0.5),
        nn.Conv2d(64, 256, kernel_size=(2, 2), padding=(0, 0), bias=False),
        relu(fanout=128),
        nn.Dropout2d(0.5),
        nn.Conv2d(256, 128, kernel_size=(1, 1), padding=(0, 0), bias=False),
        relu(fanout=11),
        nn.Conv2d(128, 1, kernel_size=(1, 1), padding=(0, 0), bias=False),
        relu(fanout=0),
        nn.Flatten(),
    )
    _seeded(seq, 2, 0.3)
    return from_model(seq, batch_size=1).spiking_model.eval()


def pooling_chain() -> nn.Module:
    """Pooling after a layer: a sum pool then an average pool (one destination pooling 4, factor 1/4)."""
    return _seeded(
        nn.Sequential(
            nn.Conv2d(2, 4, 3, padding=1, bias=False),
            iaf(),
            sl.SumPool2d(2),
            nn.AvgPool2d(2),
            nn.Conv2d(4, 8, 3, bias=False),
            iaf(),
            nn.Flatten(),
            nn.Linear(8 * 2 * 2, 6, bias=False),
            iaf(),
        ),
        3,
    )


def avgpool() -> nn.Module:
    """Average pooling between every pair of layers (the next weights carry 1/k²)."""
    return _seeded(
        nn.Sequential(
            nn.Conv2d(1, 6, 3, padding=1, bias=False),
            iaf(),
            nn.AvgPool2d(2),
            nn.Conv2d(6, 8, 3, padding=1, bias=False),
            iaf(),
            nn.AvgPool2d(4),
            nn.Conv2d(8, 4, 2, bias=False),
            iaf(),
        ),
        4,
        scale=1.5,
    )


class MergeFanout(nn.Module):
    """conv0 fans out to two cores, pooled 2 towards both (a sum pool and an average pool); their
    events merge into conv3 with average-pool factors {1/4, 1}: sinabs' rescale 0.31. (sinabs 3.1.3
    fails on a neuron with one unpooled and one pooled destination, `sinabs_edges_handler.py::
    set_pooling_layer_destination` indexing an empty pooling list, so both are pooled here.)"""

    def __init__(self) -> None:
        super().__init__()
        self.conv0, self.iaf0 = nn.Conv2d(2, 4, 3, padding=1, bias=False), iaf()
        self.pool0a, self.pool0b = sl.SumPool2d(2), nn.AvgPool2d(2)
        self.conv1, self.iaf1 = nn.Conv2d(4, 4, 3, padding=1, bias=False), iaf()
        self.pool1 = nn.AvgPool2d(2)
        self.conv2, self.iaf2 = nn.Conv2d(4, 4, 3, stride=2, padding=1, bias=False), iaf()
        self.merge = sl.Merge()
        self.conv3, self.iaf3 = nn.Conv2d(4, 6, 3, bias=False), iaf()

    def forward(self, x):
        x = self.iaf0(self.conv0(x))
        a = self.pool1(self.iaf1(self.conv1(self.pool0a(x))))
        b = self.iaf2(self.conv2(self.pool0b(x)))
        return self.iaf3(self.conv3(self.merge(a, b)))


def merge_fanout() -> nn.Module:
    return _seeded(MergeFanout(), 5)


class FanoutPooling(nn.Module):
    """One core sending to two cores, pooled 2 towards one and 4 towards the other."""

    def __init__(self) -> None:
        super().__init__()
        self.conv0, self.iaf0 = nn.Conv2d(2, 4, 3, padding=1, bias=False), iaf()
        self.pool_a, self.pool_b = sl.SumPool2d(2), sl.SumPool2d(4)
        self.conv_a, self.iaf_a = nn.Conv2d(4, 3, 3, bias=False), iaf()
        self.conv_b, self.iaf_b = nn.Conv2d(4, 3, 2, bias=False), iaf()

    def forward(self, x):
        x = self.iaf0(self.conv0(x))
        return self.iaf_a(self.conv_a(self.pool_a(x))), self.iaf_b(self.conv_b(self.pool_b(x)))


def fanout_pooling() -> nn.Module:
    return _seeded(FanoutPooling(), 6)


def dvs_pooling() -> nn.Module:
    """sinabs' DVSLayer with (2, 4) pooling (as tests/test_dynapcnn/test_dvs_input.py), merged polarities."""
    from sinabs.backend.dynapcnn import DVSLayer

    return _seeded(
        nn.Sequential(
            DVSLayer(input_shape=(32, 64), pool=(2, 4), merge_polarities=True),
            nn.Conv2d(1, 4, 3, padding=1, bias=False),
            iaf(),
            sl.SumPool2d(2),
            nn.Conv2d(4, 4, 3, bias=False),
            iaf(),
        ),
        7,
    )


def dvs_pool_crop() -> nn.Module:
    """DVS input with pooling and crop: both polarities pooled (2, 4), rows 3..20 and columns 2..13
    of the pooled 24x16 map kept (origin {x 2, y 3}, cut {x 13, y 20})."""
    from sinabs.backend.dynapcnn import DVSLayer

    return _seeded(
        nn.Sequential(
            DVSLayer(input_shape=(48, 64), pool=(2, 4), crop=((3, 21), (2, 14))),
            nn.Conv2d(2, 4, 3, padding=1, bias=False),
            iaf(),
            sl.SumPool2d(2),
            nn.Conv2d(4, 4, 3, bias=False),
            iaf(),
        ),
        18,
        scale=0.25,
    )


def dvs_flip_swap() -> nn.Module:
    """DVS with both mirrors and the transpose of a cropped, non-square map: 18x24 becomes 24x18."""
    from sinabs.backend.dynapcnn import DVSLayer

    return _seeded(
        nn.Sequential(
            DVSLayer(
                input_shape=(20, 28), crop=((1, 19), (2, 26)), merge_polarities=True, flip_x=True, flip_y=True,
                swap_xy=True,
            ),
            nn.Conv2d(1, 4, 3, padding=1, bias=False),
            iaf(),
            nn.Conv2d(4, 4, 3, stride=2, bias=False),
            iaf(),
        ),
        19,
    )  # fmt: skip


def dvs_documented() -> nn.Module:
    """speck.md §5's observed example: DVSLayer(pool 4, crop ((4, 28), (0, 32)), merge, flip_x) on the
    128x128 sensor gives cut {x 31, y 27}, origin {x 0, y 4}, mirror.x, merge."""
    from sinabs.backend.dynapcnn import DVSLayer

    return _seeded(
        nn.Sequential(
            DVSLayer(input_shape=(128, 128), pool=(4, 4), crop=((4, 28), (0, 32)), merge_polarities=True, flip_x=True),
            nn.Conv2d(1, 4, 3, stride=2, bias=False),
            iaf(),
            nn.Conv2d(4, 2, 3, stride=2, bias=False),
            iaf(),
        ),
        20,
        scale=1.0,
    )


def dvs_input_pooling() -> nn.Module:
    """Pooling before the first layer, absorbed by the DVS layer sinabs inserts for dvs_input=True."""
    return _seeded(
        nn.Sequential(
            sl.SumPool2d(2),
            nn.Conv2d(2, 4, 3, padding=1, bias=False),
            iaf(),
            nn.AvgPool2d(4),
            nn.Conv2d(4, 4, 3, bias=False),
            iaf(),
        ),
        8,
        scale=1.5,
    )


def linear_1x1() -> nn.Module:
    """A Linear on a 1x1 map and a Linear on a vector."""
    return _seeded(
        nn.Sequential(
            nn.Conv2d(2, 8, 4, stride=4, bias=False),
            iaf(),
            nn.Flatten(),
            nn.Linear(8, 12, bias=False),
            iaf(),
            nn.Linear(12, 5, bias=False),
            iaf(),
        ),
        9,
    )


def linear_map() -> nn.Module:
    """A Linear on a 4x4 map (a 4x4 kernel)."""
    return _seeded(
        nn.Sequential(
            nn.Conv2d(2, 6, 3, stride=2, padding=1, bias=False),
            iaf(),
            sl.SumPool2d(2),
            nn.Flatten(),
            nn.Linear(6 * 4 * 4, 7, bias=False),
            iaf(),
        ),
        10,
    )


def bias_leak() -> nn.Module:
    """Biases on every layer (leak_enable), a convolution with stride and padding 2."""
    return _seeded(
        nn.Sequential(
            nn.Conv2d(2, 5, 5, stride=2, padding=2, bias=True),
            iaf(),
            nn.Conv2d(5, 6, 3, bias=True),
            iaf(),
            nn.Flatten(),
            nn.Linear(6 * 6 * 6, 4, bias=True),
            iaf(),
        ),
        11,
        scale=0.6,
    )


def zero_reset() -> nn.Module:
    """Reset to zero (MembraneReset) and single spikes next to the default subtract reset."""
    return _seeded(
        nn.Sequential(
            nn.Conv2d(2, 4, 3, bias=False),
            iaf(reset_fn=MembraneReset()),
            nn.Conv2d(4, 4, 3, bias=False),
            iaf(spike_fn=SingleSpike),
            nn.Conv2d(4, 3, 3, bias=False),
            iaf(reset_fn=MembraneReset(), spike_fn=SingleSpike),
        ),
        12,
    )


def extremes() -> nn.Module:
    """A threshold so far above the weights that the 16-bit threshold sets the scale (32767), a
    min_v_mem so low that threshold_low does (-32768), and a small threshold with a near-zero bound."""
    model = _seeded(
        nn.Sequential(
            nn.Conv2d(2, 4, 3, bias=False),
            iaf(spike_threshold=70.0, min_v_mem=-1.0),
            nn.Conv2d(4, 4, 3, bias=False),
            iaf(spike_threshold=1.0, min_v_mem=-700.0),
            nn.Conv2d(4, 3, 3, bias=False),
            iaf(spike_threshold=0.01, min_v_mem=-0.01),
        ),
        13,
        scale=0.05,
    )
    with torch.no_grad():  # excitatory layers, so that each reaches its threshold within the run
        model[0].weight.abs_().add_(0.1)
        model[2].weight.abs_().add_(0.01)
        model[4].weight.abs_()
    return model


def initial_state() -> nn.Module:
    """A layer whose state is set before deployment (neurons_initial_value)."""
    model = _seeded(
        nn.Sequential(nn.Conv2d(2, 4, 3, bias=False), iaf(), nn.Conv2d(4, 3, 3, bias=False), iaf()),
        14,
    )
    g = torch.Generator().manual_seed(15)
    model[1].v_mem = torch.rand((1, 4, 6, 6), generator=g) * 0.9
    model[3].v_mem = torch.rand((1, 3, 4, 4), generator=g) - 0.5
    return model


def batchnorm(eps: float = 0.0) -> Callable[[], nn.Module]:
    """Conv → BatchNorm → IAF; with eps 0 sinabs' fold (which ignores eps, speck.md §8) is exact.
    Small running variances make eps matter."""

    def build() -> nn.Module:
        model = nn.Sequential(
            nn.Conv2d(2, 4, 3, bias=False), nn.BatchNorm2d(4, eps=eps), iaf(), nn.Conv2d(4, 3, 3), iaf()
        )
        _seeded(model, 16)
        g = torch.Generator().manual_seed(17)
        bn = model[1]
        with torch.no_grad():
            bn.running_mean.copy_(torch.randn(4, generator=g) * 0.1)
            bn.running_var.copy_(torch.rand(4, generator=g) * 1e-4 + 1e-5)
            bn.weight.copy_(torch.rand(4, generator=g) + 0.5)
            bn.bias.copy_(torch.randn(4, generator=g) * 0.1)
        return model.eval()

    return build


CASES = (
    Case("auto_mapping", auto_mapping, (1, 28, 28), golden=False),
    Case("large_net", large_net, (2, 128, 128), golden=False, rate=0.05),
    Case("pooling_chain", pooling_chain, (2, 16, 16)),
    Case("avgpool", avgpool, (1, 16, 16)),
    Case("merge_fanout", merge_fanout, (2, 16, 16)),
    Case("fanout_pooling", fanout_pooling, (2, 16, 16)),
    Case("dvs_pooling", dvs_pooling, (1, 32, 64), dvs_input=True),
    Case("dvs_input_pooling", dvs_input_pooling, (2, 32, 32), dvs_input=True),
    Case("dvs_pool_crop", dvs_pool_crop, (2, 48, 64), dvs_input=True),
    Case("dvs_flip_swap", dvs_flip_swap, (1, 20, 28)),
    Case("dvs_documented", dvs_documented, (1, 128, 128), dvs_input=True, rate=0.05),
    Case("linear_1x1", linear_1x1, (2, 4, 4)),
    Case("linear_map", linear_map, (2, 16, 16)),
    Case("bias_leak", bias_leak, (2, 16, 16)),
    Case("zero_reset", zero_reset, (2, 10, 10), rate=0.5),
    Case("extremes", extremes, (2, 10, 10), rate=0.6, steps=80),
    Case("initial_state", initial_state, (2, 8, 8)),
    Case("batchnorm_eps0", batchnorm(0.0), (2, 8, 8)),
)
"""Networks whose every configuration field and placement must equal sinabs'."""

BATCHNORM_EPS = Case("batchnorm_eps", batchnorm(1e-5), (2, 8, 8), golden=False)
"""sinabs folds BatchNorm without eps: snnc's correct fold differs (speck.md §8)."""
