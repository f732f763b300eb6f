"""Models built from their code: 'pkg.module:factory' (the current directory importable) and
'path/to/file.py:factory', with a state dict whose problems are named key by key."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import snnc
from snnc.diagnostics import SnncError
from snnc.frontend.factory import is_factory

SOURCE = """
import torch
from torch import nn

class WithState(nn.Module):
    '''A layer with run-time state kept in a buffer that starts empty, as sinabs' layers do.'''

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.register_buffer("v_mem", torch.zeros(0))

    def forward(self, x):
        return torch.relu(self.fc(x))

def build():
    return nn.Sequential(WithState())

def wider():
    model = build()
    model[0].fc = nn.Linear(4, 5)
    model.append(nn.Linear(5, 2))
    return model

def not_a_model():
    return 42
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "mynet.py").write_text(SOURCE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    "text, expected",
    [
        ("mynet:build", True),
        ("pkg.sub.mod:make_net", True),
        ("path/to/file.py:build", True),
        ("model.pt", False),
        ("C:\\models\\net.pt", False),
        ("mynet:", False),
        ("my-net:build", False),
    ],
)
def test_factory_sources_are_recognised(text, expected):
    assert is_factory(text) is expected


def _saved_after_a_forward_pass(project) -> str:
    import importlib.util

    spec = importlib.util.spec_from_file_location("mynet_copy", project / "mynet.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.build()
    model[0].v_mem = torch.zeros(2, 3)  # what a forward pass leaves: state shaped by the batch
    torch.save(model.state_dict(), project / "w.pt")
    return str(project / "w.pt")


@pytest.mark.parametrize("source", ["mynet:build", "mynet.py:build", "{dir}/mynet.py:build"])
def test_the_current_directory_and_a_file_path_import(project, source):
    weights = _saved_after_a_forward_pass(project)
    notes: list = []
    graph = snnc.load(source.format(dir=project), weights=weights, diagnostics=notes)
    assert [n.rule for n in notes] == ["FE-WEIGHTS-STATE"] and "0.v_mem" in notes[0].message
    assert graph.inputs[0].type.shape == (4,)


def test_a_state_dict_of_another_architecture_names_each_key(project):
    weights = _saved_after_a_forward_pass(project)
    with pytest.raises(SnncError) as e:
        snnc.load("mynet:wider", weights=weights)
    (d,) = e.value.diagnostics
    assert d.rule == "FE-WEIGHTS"
    assert "key '0.fc.weight' has shape [3, 4] in the file but [5, 4] in the model" in d.message
    assert "key '1.weight' is not in the file" in d.message


@pytest.mark.parametrize(
    "source, rule, said",
    [
        ("mynet:nothing", "FE-FACTORY", "no function 'nothing'"),
        ("no_such_module:build", "FE-FACTORY", "cannot import 'no_such_module'"),
        ("missing.py:build", "FE-FACTORY", "no such file"),
        ("mynet:not_a_model", "FE-FACTORY", "returned a int"),
    ],
)
def test_factory_errors(project, source, rule, said):
    with pytest.raises(SnncError) as e:
        snnc.load(source)
    (d,) = e.value.diagnostics
    assert d.rule == rule and said in d.message


def test_weights_that_are_not_a_state_dict(project):
    torch.save({"epoch": 3, "net": nn.Linear(2, 2).state_dict()}, project / "ckpt.pt")
    with pytest.raises(SnncError) as e:
        snnc.load("mynet:build", weights=project / "ckpt.pt")
    (d,) = e.value.diagnostics
    assert d.rule == "FE-WEIGHTS" and "not a state dict of tensors" in d.message
