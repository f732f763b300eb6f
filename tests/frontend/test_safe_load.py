"""Pickled models load only when every global they name is on the allowlist."""

import functools
import os

import pytest
import torch
from torch import nn

from snnc.diagnostics import SnncError
from snnc.frontend.safe_load import load_pickled_model


class FileCreator:
    """Unpickling this object creates a file: the attack the loader must not let through."""

    def __init__(self, path):
        self.path = path

    def __setstate__(self, state):
        with open(state["path"], "w") as f:
            f.write("pwned")
        self.__dict__.update(state)


class Carrier(nn.Module):
    def __init__(self, payload):
        super().__init__()
        self.fc = nn.Linear(2, 2)
        self.payload = payload


def rule_ids(err: pytest.ExceptionInfo) -> list[str]:
    return [d.rule for d in err.value.diagnostics]


def test_spikingjelly_model_loads(tmp_path):
    from spikingjelly.activation_based import layer, neuron

    model = nn.Sequential(layer.Conv2d(2, 4, 3), neuron.LIFNode(tau=2.0), layer.Flatten(), layer.Linear(64, 3))
    torch.save(model, tmp_path / "m.pt")
    loaded = load_pickled_model(tmp_path / "m.pt")
    assert isinstance(loaded[1], neuron.LIFNode)
    assert torch.equal(loaded[0].weight, model[0].weight)


def test_sinabs_model_loads(tmp_path):
    import sinabs.layers as sl

    model = nn.Sequential(nn.Conv2d(2, 4, 3), sl.IAFSqueeze(batch_size=2), sl.SumPool2d(2))
    torch.save(model, tmp_path / "m.pt")
    assert isinstance(load_pickled_model(tmp_path / "m.pt")[1], sl.IAFSqueeze)


def test_snntorch_model_with_partial_surrogate_loads(tmp_path):
    import snntorch as snn
    from snntorch import surrogate

    surrogate_fn = functools.partial(surrogate.ATan.apply, alpha=2.0)  # picklable, unlike surrogate.atan()
    model = nn.Sequential(nn.Linear(3, 4), snn.Leaky(beta=0.9, spike_grad=surrogate_fn, init_hidden=True))
    torch.save(model, tmp_path / "m.pt")
    loaded = load_pickled_model(tmp_path / "m.pt")
    assert isinstance(loaded[1], snn.Leaky)
    x = torch.rand(2, 3)
    assert torch.equal(loaded(x), model(x))  # the loaded model runs


def test_foreign_class_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "created_by_unpickling"
    torch.save(Carrier(FileCreator(str(marker))), tmp_path / "evil.pt")
    with pytest.raises(SnncError) as err:
        load_pickled_model(tmp_path / "evil.pt")
    assert set(rule_ids(err)) == {"FE-UNSAFE-PICKLE"}  # Carrier and FileCreator: both foreign
    (diag,) = [d for d in err.value.diagnostics if "FileCreator" in d.message]
    assert "trust_pickle=True" in diag.hint and "factory" in diag.hint
    assert not marker.exists()
    # The guard is what kept the file from being written: trusting the pickle runs the payload.
    load_pickled_model(tmp_path / "evil.pt", trust_pickle=True)
    assert marker.read_text() == "pwned"


def test_foreign_function_is_refused(tmp_path):
    import sinabs.layers as sl

    torch.save(nn.Sequential(sl.IAFSqueeze(batch_size=1), sl.SumPool2d(2)), tmp_path / "ok.pt")
    model = load_pickled_model(tmp_path / "ok.pt")
    model.extra = os.getcwd  # a library model carrying a reference to an os function
    torch.save(model, tmp_path / "fn.pt")
    with pytest.raises(SnncError) as err:
        load_pickled_model(tmp_path / "fn.pt")
    assert rule_ids(err) == ["FE-UNSAFE-PICKLE"]
    assert "getcwd" in err.value.diagnostics[0].message


def test_torch_class_that_is_not_a_module_is_refused(tmp_path):
    model = nn.Sequential(nn.Linear(2, 2))
    model.data = torch.utils.data.TensorDataset(torch.zeros(2))
    torch.save(model, tmp_path / "ds.pt")
    with pytest.raises(SnncError) as err:
        load_pickled_model(tmp_path / "ds.pt")
    assert rule_ids(err) == ["FE-UNSAFE-PICKLE"]
    assert "TensorDataset" in err.value.diagnostics[0].message


def test_getattr_is_limited_to_methods_of_trusted_objects():
    import pickle

    import snntorch as snn

    from snnc.frontend.safe_load import _method_of

    leaky = snn.Leaky(beta=0.5)
    assert _method_of(leaky, "_base_sub") == leaky._base_sub
    assert _method_of(snn.surrogate.ATan, "apply") == snn.surrogate.ATan.apply  # from the class itself
    refused = [
        (leaky, "__class__"),
        (leaky, "beta"),
        (nn.Linear(1, 1), "forward"),
        (os, "system"),
        (nn.Linear, "forward"),
    ]
    for obj, name in refused:
        with pytest.raises(pickle.UnpicklingError):
            _method_of(obj, name)


def test_missing_corrupt_and_truncated_files(tmp_path):
    with pytest.raises(SnncError) as err:
        load_pickled_model(tmp_path / "absent.pt")
    assert rule_ids(err) == ["IO-NOT-FOUND"]
    (tmp_path / "junk.pt").write_bytes(os.urandom(256))
    with pytest.raises(SnncError) as err:
        load_pickled_model(tmp_path / "junk.pt")
    assert rule_ids(err) == ["FE-CORRUPT-FILE"]
    torch.save(nn.Linear(20, 20), tmp_path / "ok.pt")
    data = (tmp_path / "ok.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2] + data[-200:])
    with pytest.raises(SnncError) as err:
        load_pickled_model(tmp_path / "cut.pt")
    assert rule_ids(err) == ["FE-CORRUPT-FILE"]


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_models_saved_with_any_pickle_protocol_load(tmp_path, protocol):
    """torch.save writes protocol 2 by default; 4 and 5 add FRAME, MEMOIZE, STACK_GLOBAL, SHORT_BINUNICODE."""
    import sinabs.layers as sl

    model = nn.Sequential(nn.Conv2d(2, 4, 3), sl.IAFSqueeze(batch_size=2), sl.SumPool2d(2))
    torch.save(model, tmp_path / "m.pt", pickle_protocol=protocol)
    loaded = load_pickled_model(tmp_path / "m.pt")
    assert isinstance(loaded[1], sl.IAFSqueeze) and torch.equal(loaded[0].weight, model[0].weight)


def test_norse_parameters_load_in_a_fresh_process(tmp_path, monkeypatch):
    """Norse's NamedTuples report norse.torch.utils.pytree as their module (docs/environment.md §8);
    a model saved after correcting `__module__` names the defining module, where a fresh process
    finds the class still reporting pytree. The allowlist accepts exactly that case."""
    import subprocess
    import sys
    from pathlib import Path

    import norse.torch as nt

    import snnc

    monkeypatch.setattr(nt.LIFBoxParameters, "__module__", "norse.torch.functional.lif_box")
    cell = nt.LIFBoxCell(nt.LIFBoxParameters(v_th=torch.tensor(0.2)))
    torch.save(nt.SequentialState(nt.Lift(cell)), tmp_path / "m.pt")
    script = (
        "from snnc.frontend.safe_load import load_pickled_model\n"
        f"model = load_pickled_model({str(tmp_path / 'm.pt')!r})\n"
        "print(type(model[0].lifted_module.p).__name__, type(model[0].lifted_module.p).__module__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(snnc.__file__).parents[1])},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == "LIFBoxParameters norse.torch.utils.pytree"
