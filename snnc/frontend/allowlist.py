"""What a model file may name: exact objects, each allowed for a stated reason.

A pickle names objects as (module, qualified name). snnc resolves such a name only in modules
listed here, by exact module name, and only to an object *defined* there: the module is
imported (a library module the user installed, never a name the file chose freely), the object
is looked up in the module's own namespace (`vars(module)`, never `getattr` on a module, never
through another module object), and its own `__module__` and `__qualname__` must equal the
pickled name. So `snntorch.torch.subprocess.Popen`, `sinabs.layers.iaf.os.system` and
`spikingjelly.activation_based.examples.common.multiprocessing_env.CloudpickleWrapper` (a
class under a trusted prefix whose `__setstate__` calls `pickle.loads`) all resolve to nothing.

What a resolved object may do is decided by its kind (`Kind`), not by its name:

- MODULE: an `nn.Module` subclass. The unpickler creates it with `object.__new__` and fills it
  with `nn.Module.__setstate__` (a `__dict__` update) or torch.nn's own normalising override;
  its constructor never runs with file-supplied arguments, and a library class overriding
  `__new__` or `__setstate__` is refused (none of the listed libraries does).
- RECORD: a plain data class of a library (sinabs' reset mechanisms and surrogate gradients are
  dataclasses): `object.__new__` and a `__dict__` update with string keys, nothing else.
- TUPLE: a NamedTuple of parameters (Norse's `LIFParameters` and friends): `tuple.__new__`
  with exactly its fields, which runs no code of the class.
- REFERENCE: a class or function that is only stored and later called by the library's own
  forward code: autograd Functions (surrogate spike functions), Norse step and reset functions,
  SpikingJelly and snnTorch surrogate functions, `torch.nn.functional`. These modules hold pure
  tensor arithmetic; nothing in them reads files, starts processes or unpickles.

The torch and Python objects a checkpoint needs (tensor rebuild functions, storages, dtypes,
`OrderedDict`, ...) are listed by object in snnc/frontend/unpickler.py, each with the
arguments it accepts.
"""

from __future__ import annotations

import enum
import importlib
import inspect
from dataclasses import dataclass
from typing import Any

from torch import nn

# torch.nn's layers (snnc converts a subset; the others load and are then reported by name).
TORCH_NN_MODULES: tuple[str, ...] = tuple(
    f"torch.nn.modules.{m}"
    for m in (
        "activation", "batchnorm", "channelshuffle", "container", "conv", "dropout", "flatten", "fold",
        "instancenorm", "linear", "module", "normalization", "padding", "pixelshuffle", "pooling", "rnn",
        "sparse", "upsampling",
    )
)  # fmt: skip

# Modules whose classes are layers, neurons and surrogate gradients (module, container, zoo
# block classes). Every module listed was read for import-time side effects and for code that
# touches files, processes or pickles: there is none (grep of open/subprocess/pickle/urlretrieve
# in spikingjelly/activation_based/{neuron,layer,surrogate.py,base.py}, snntorch/_neurons,
# snntorch/surrogate.py, sinabs/{layers,activation,network.py}, norse/torch/{module,functional}).
CLASS_MODULES: tuple[str, ...] = (
    # SpikingJelly 2.0: neurons, layer wrappers, surrogates, the SEW ResNet zoo blocks
    "spikingjelly.activation_based.base",
    "spikingjelly.activation_based.surrogate",
    *(
        f"spikingjelly.activation_based.neuron.{m}"
        for m in (
            "adapt", "base_node", "dsr", "ilif", "integrate_and_fire", "lif", "lif_variants", "nonlinear_if",
            "plif", "psn", "resonate", "ternary",
        )
    ),
    *(
        f"spikingjelly.activation_based.layer.{m}"
        for m in ("attention", "bn", "container", "dropout", "misc", "stateless_wrapper")
    ),
    "spikingjelly.activation_based.model.parametric_lif_net",
    # the ResNet and VGG zoos, imported with snnc's torchvision stand-in (frontend/spikingjelly.py
    # import_zoo); their only download (load_state_dict_from_url) is in the factory functions,
    # which are not classes and so never resolve here
    *(f"spikingjelly.activation_based.model.{m}" for m in ("sew_resnet", "spiking_resnet", "spiking_vgg")),
    # snnTorch 1.0: neurons, graded spikes, surrogate autograd Functions
    "snntorch.surrogate",
    "snntorch._layers.graded_spikes",
    *(
        f"snntorch._neurons.{m}"
        for m in (
            "alpha", "lapicque", "leaky", "neurons", "rleaky", "rsynaptic", "sconv2dlstm", "slstm", "synaptic",
        )
    ),
    # sinabs 3.1: layers, spike generation, reset mechanisms, surrogate gradients, Network
    "sinabs.network",
    *(
        f"sinabs.layers.{m}"
        for m in (
            "alif", "channel_shift", "crop2d", "exp_leak", "iaf", "lif", "merge", "neuromorphic_relu", "pool2d",
            "quantize", "reshape", "stateful_layer", "to_spike",
        )
    ),
    *(f"sinabs.activation.{m}" for m in ("quantize", "reset_mechanism", "spike_generation", "surrogate_gradient_fn")),
    # Norse 1.1: modules, and the parameter NamedTuples of the functional modules
    *(
        f"norse.torch.module.{m}"
        for m in (
            "coba_lif", "conv", "iaf", "leaky_integrator", "leaky_integrator_box", "lif", "lif_adex", "lif_box",
            "lif_ex", "lif_refrac", "lift", "lsnn", "sequential", "snn",
        )
    ),
    *(
        f"norse.torch.functional.{m}"
        for m in (
            "coba_lif", "iaf", "leaky_integrator", "leaky_integrator_box", "lif", "lif_adex", "lif_box", "lif_ex",
            "lif_refrac", "lsnn", "threshold", "superspike",
        )
    ),
    *TORCH_NN_MODULES,
)  # fmt: skip

# Modules whose functions a model may store and its forward call later: pure tensor arithmetic
# (surrogate gradients, neuron steps and resets, torch.nn.functional).
FUNCTION_MODULES: tuple[str, ...] = (
    "torch.nn.functional",
    "spikingjelly.activation_based.surrogate",
    "snntorch.surrogate",
    "sinabs.activation.surrogate_gradient_fn",
    *(
        f"norse.torch.functional.{m}"
        for m in (
            "heaviside", "iaf", "leaky_integrator", "leaky_integrator_box", "lif", "lif_box", "reset", "threshold",
            "superspike", "coba_lif", "lif_adex", "lif_ex", "lif_refrac", "lsnn",
        )
    ),
)  # fmt: skip

# Norse's NamedTuple metaclass builds its classes with `type(...)` inside norse/torch/utils/pytree.py
# (MultipleInheritanceNamedTupleMeta.__new__), so they report that module, not the one defining
# them (docs/environment.md §8). Models saved after correcting `__module__` name the defining
# module; in a fresh process the class found there still reports this one.
_NORSE_PYTREE = "norse.torch.utils.pytree"


class Kind(enum.Enum):
    MODULE = "nn.Module subclass: object.__new__, then nn.Module.__setstate__"
    RECORD = "plain data class: object.__new__, then a __dict__ update"
    TUPLE = "NamedTuple: tuple.__new__ with its fields"
    REFERENCE = "stored only, called by the library's own code after loading"


@dataclass(frozen=True)
class Allowed:
    obj: Any
    kind: Kind


class NotAllowed(Exception):
    """The name is not on the allowlist (`missing` False) or names an allowlisted module's object
    that cannot be imported here (`missing` True: a library or version not installed)."""

    def __init__(self, name: str, reason: str, *, missing: bool = False) -> None:
        super().__init__(reason)
        self.name, self.reason, self.missing = name, reason, missing


def resolve(module: str, qualname: str) -> Allowed:
    """The allowlisted object pickled as `module`.`qualname`, or NotAllowed."""
    name = f"{module}.{qualname}"
    if module not in CLASS_MODULES and module not in FUNCTION_MODULES:
        raise NotAllowed(name, "its module is not on snnc's allowlist")
    namespace = vars(_import(module, name))
    parts = qualname.split(".")
    obj = namespace.get(parts[0])
    for depth, part in enumerate(parts[1:], 1):  # a nested class: only through classes of this module
        if obj is not None and not (isinstance(obj, type) and obj.__module__ == module):
            through = ".".join(parts[:depth])
            raise NotAllowed(
                name, f"it walks through {module}.{through}, a {type(obj).__name__}, not a class of {module}"
            )
        obj = vars(obj).get(part) if obj is not None else None
    if obj is None:
        raise NotAllowed(name, f"{module} has no {qualname} (another version of the library?)", missing=True)
    owner = getattr(obj, "__module__", None)
    if getattr(obj, "__qualname__", None) != qualname or not (owner == module or _norse_tuple(obj, module)):
        raise NotAllowed(name, f"it is {owner}.{getattr(obj, '__qualname__', '?')}, defined elsewhere")
    kind = _kind(obj, module)
    if kind is None:
        raise NotAllowed(name, f"a {type(obj).__name__} of this kind is not allowed")
    return Allowed(obj, kind)


def _norse_tuple(obj: Any, module: str) -> bool:
    """A Norse parameter NamedTuple found in the module that defines it, reporting pytree's module."""
    return (
        module.startswith("norse.torch.functional.")
        and obj.__module__ == _NORSE_PYTREE
        and isinstance(obj, type)
        and issubclass(obj, tuple)
    )


def _import(module: str, name: str) -> Any:
    try:
        if module.startswith("spikingjelly.activation_based.model."):
            from snnc.frontend.spikingjelly import import_zoo

            return import_zoo(module)  # a stand-in for torchvision where the zoo module needs it
        return importlib.import_module(module)
    except ImportError as e:
        raise NotAllowed(name, f"{module} cannot be imported ({e})", missing=True) from None


def _kind(obj: Any, module: str) -> Kind | None:
    if inspect.isfunction(obj):
        return Kind.REFERENCE if module in FUNCTION_MODULES else None
    if not isinstance(obj, type) or module not in CLASS_MODULES:
        return None
    if issubclass(obj, nn.Module):
        return Kind.MODULE if _rebuilt_by_torch(obj) else None
    if issubclass(obj, tuple) and hasattr(obj, "_fields"):
        return Kind.TUPLE
    from torch.autograd import Function

    if issubclass(obj, Function):
        return Kind.REFERENCE
    plain = obj.__new__ is object.__new__ and not hasattr(obj, "__setstate__") and "__slots__" not in vars(obj)
    return Kind.RECORD if plain else None


def _rebuilt_by_torch(cls: type) -> bool:
    """Whether creating and filling an instance runs only torch's code: `object.__new__`, and the
    `__setstate__` of nn.Module or of one of torch.nn's layer modules (which only fill in defaults
    of attributes older torch versions lacked, e.g. torch/nn/modules/conv.py `_ConvNd.__setstate__`)."""
    owner = getattr(cls.__setstate__, "__module__", None)
    return cls.__new__ is object.__new__ and owner in TORCH_NN_MODULES
