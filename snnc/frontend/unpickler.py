"""A pickle reader that rebuilds data and allowlisted objects, and calls nothing else.

Python's unpickler executes a small stack language whose REDUCE, NEWOBJ, BUILD and friends call
whatever the stream names, which is how a model file runs code. This reader (modelled on
torch/_weights_only_unpickler.py, written from the pickle opcode definitions in
Lib/pickletools.py) runs the same language with every effect decided here:

- GLOBAL / STACK_GLOBAL push only the objects of `FIXED` below or of the allowlist
  (snnc/frontend/allowlist.py: exact objects, resolved without walking attributes);
- REDUCE calls only the callables of `FIXED_CALLS` (and the tensor rebuilders the checkpoint
  reader adds), each after checking its arguments: it never calls a class with file-supplied
  arguments, so `Linear(30000, 30000)` is refused before anything is allocated;
- NEWOBJ creates allowlisted classes with `object.__new__` (a NamedTuple with `tuple.__new__`);
- BUILD fills such an instance through `nn.Module.__setstate__` or a plain `__dict__` update;
- SETITEMS, APPENDS and ADDITEMS apply to dicts, lists and sets only; BINPERSID goes to the
  checkpoint reader, which checks every storage against the archive and the size limit.

Anything else, including text-protocol, extension and out-of-band-buffer opcodes, is refused.
Memory is bounded by the stream's length (every opcode makes at most one object, lengths are
checked against what is left) plus what the persistent loader admits.
"""

from __future__ import annotations

import _codecs
import _compat_pickle
import functools
import pickle
import pickletools
import struct
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import torch

from snnc.frontend import allowlist
from snnc.frontend.allowlist import Kind, NotAllowed


class Refused(Exception):
    """The stream asks for an object, a call or a size that is not allowed; `rule` is the
    diagnostic's (FE-UNSAFE-PICKLE, FE-MISSING-CLASS for an allowlisted library object that is not
    installed here, FE-TOO-LARGE, FE-TENSOR-LAYOUT), `name` the global concerned."""

    def __init__(
        self,
        message: str,
        name: str | None = None,
        *,
        missing: bool = False,
        rule: str = "FE-UNSAFE-PICKLE",
        measured: Any = None,
        limit: Any = None,
    ) -> None:
        super().__init__(message)
        self.name, self.rule = name, "FE-MISSING-CLASS" if missing else rule
        self.measured, self.limit = measured, limit


class Malformed(Exception):
    """The stream is not a well-formed pickle of allowed objects (truncated, bad arguments, ...)."""


def _dtypes() -> dict[str, Any]:
    """`torch.float32` and every other dtype: immutable constants, never called."""
    return {f"torch.{name}": value for name, value in vars(torch).items() if isinstance(value, torch.dtype)}


class StorageKind:
    """What a pickled storage class stands for: its element type (the class itself is never used)."""

    def __init__(self, dtype: torch.dtype) -> None:
        self.dtype = dtype


def _storage_kinds() -> dict[str, StorageKind]:
    """`torch.FloatStorage`, ... (the legacy names torch.save writes into a storage's persistent id)
    and `torch.UntypedStorage` (bytes): markers of an element type."""
    kinds = {f"torch.{name}": StorageKind(dtype) for dtype, name in torch.storage._dtype_to_storage_type_map().items()}
    return kinds | {"torch.UntypedStorage": StorageKind(torch.uint8)}


def _method_of(obj: Any, name: str) -> Any:
    """`getattr` restricted to methods that a trusted SNN library class defines, fetched from the
    class itself (snnTorch's `SpikingNeuron._surrogate_bypass`; `surrogate.ATan.apply`, torch's
    `Function.apply` of a library autograd Function) or from one of its objects (snnTorch neurons
    store bound methods, `Leaky.state_function = self._base_sub`, snntorch/_neurons/leaky.py,
    which pickle as getattr(obj, name)). The method is not called while loading."""
    cls = obj if isinstance(obj, type) else type(obj)
    owner = next((c for c in cls.__mro__ if name in vars(c)), None)
    raw = vars(owner).get(name) if owner is not None else None
    method = isinstance(raw, (staticmethod, classmethod)) or (callable(raw) and not isinstance(raw, type))
    library = owner is not None and owner.__module__.split(".")[0] in ("spikingjelly", "snntorch", "sinabs", "norse")
    apply = owner is torch.autograd.Function and name == "apply" and issubclass(cls, torch.autograd.Function)
    public = name.isidentifier() and not name.startswith("__")
    if not (_library_class(cls) and public and method and (library or apply)):
        raise pickle.UnpicklingError(f"refused getattr({cls.__module__}.{cls.__qualname__}, {name!r})")
    # bound from the class's own definition: an attribute the file put on the object cannot shadow it
    return raw.__get__(None if obj is cls else obj, cls) if hasattr(raw, "__get__") else raw


def _library_class(cls: type) -> bool:
    """An allowlisted class of one of the SNN libraries (not torch's own: nn.Linear.forward and the
    like are never fetched)."""
    try:
        allowed = allowlist.resolve(cls.__module__, cls.__qualname__)
    except NotAllowed:
        return False
    return allowed.obj is cls and not cls.__module__.startswith("torch.")


def _args(args: tuple, *types: type | tuple[type, ...]) -> None:
    if len(args) != len(types) or not all(isinstance(a, t) for a, t in zip(args, types)):
        got = ", ".join(type(a).__name__ for a in args)
        raise Malformed(f"expected arguments ({', '.join(getattr(t, '__name__', str(t)) for t in types)}), got ({got})")


def _ordered_dict(*args: Any) -> OrderedDict:
    _args(args)  # its items follow as SETITEMS
    return OrderedDict()


def _set(*args: Any) -> set:
    _args(args, list)
    return set(args[0])


def _frozenset(*args: Any) -> frozenset:
    _args(args, list)
    return frozenset(args[0])


def _encode(*args: Any) -> bytes:
    """How protocol 2 stores bytes: `_codecs.encode(text, "latin1")`."""
    _args(args, str, str)
    if args[1] not in ("latin1", "latin-1"):
        raise Malformed(f"bytes encoded as {args[1]!r}")
    return _codecs.encode(args[0], "latin1")


def _size(*args: Any) -> torch.Size:
    _args(args, tuple)
    if not all(type(d) is int and d >= 0 for d in args[0]):
        raise Malformed(f"torch.Size{args[0]!r}")
    return torch.Size(args[0])


def _device(*args: Any) -> torch.device:
    if not (len(args) in (1, 2) and isinstance(args[0], str) and all(type(a) is int for a in args[1:])):
        raise Malformed(f"torch.device{args!r}")
    return torch.device(*args)  # a name; it allocates nothing (tensors load on the CPU regardless)


# The callables REDUCE may call, keyed by the object GLOBAL pushes, each with its argument check.
FIXED_CALLS: dict[Any, Callable[..., Any]] = {
    OrderedDict: _ordered_dict,  # an empty container; its items come through SETITEMS
    set: _set,  # a set of already-built objects: hashing them runs no code the file chose
    frozenset: _frozenset,  # likewise
    _codecs.encode: _encode,  # text to latin-1 bytes: how protocol 2 stores bytes
    torch.Size: _size,  # a tuple of non-negative ints
    torch.device: _device,  # a name such as "cpu": allocates nothing
    getattr: _method_of,  # only a method a trusted SNN library class defines, never called here
    functools.partial: lambda *args: _partial(args),  # wraps an allowlisted callable, calls nothing
}

# Every name GLOBAL may push besides the allowlist, with the object it stands for. The objects
# are pushed only: each is called (if ever) through FIXED_CALLS or the checkpoint's rebuilders.
FIXED: dict[str, Any] = {
    "collections.OrderedDict": OrderedDict,
    "builtins.set": set,
    "builtins.frozenset": frozenset,
    "builtins.getattr": getattr,
    "_codecs.encode": _codecs.encode,
    "functools.partial": functools.partial,
    "torch.Size": torch.Size,
    "torch.device": torch.device,
    **_dtypes(),  # constants
    **_storage_kinds(),  # markers of an element type, read by the persistent loader
}


def _partial(args: tuple) -> functools.partial:
    """`functools.partial(f)`: snnTorch models wrap their surrogate so (the partial is not called
    here; its arguments arrive through BUILD, checked in `_build_partial`)."""
    if len(args) != 1 or not callable(args[0]):
        raise Malformed(f"functools.partial{args!r}")
    return functools.partial(args[0])


class RestrictedUnpickler:
    """Run a pickle stream with the effects described in the module docstring.

    `persistent_load(pid)` resolves BINPERSID ids (storages); `calls` adds REDUCE callables (the
    tensor rebuilders). Errors: Refused (not allowed), Malformed (a broken stream or arguments)."""

    def __init__(
        self,
        data: bytes,
        persistent_load: Callable[[Any], Any],
        calls: dict[Any, Callable[..., Any]],
        fixed: dict[str, Any],
    ) -> None:
        self.data, self.pos, self.proto = data, 0, 0
        self.persistent_load = persistent_load
        self.calls = FIXED_CALLS | calls
        self.fixed = FIXED | fixed
        self.kinds: dict[Any, Kind] = {}  # allowlisted classes met so far, by object
        self.callables: list[Any] = []  # objects a partial may wrap (allowlisted or fetched methods)
        self.stack: list[Any] = []
        self.marks: list[list[Any]] = []
        self.memo: dict[int, Any] = {}

    # --- reading -------------------------------------------------------------------------------

    def _take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise Malformed(f"the pickle ends inside an opcode's argument (at byte {self.pos}, {n} bytes needed)")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def _unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self._take(struct.calcsize(fmt)))[0]

    def _line(self) -> str:
        end = self.data.find(b"\n", self.pos)
        if end < 0:
            raise Malformed("the pickle ends inside a GLOBAL name")
        text = self._take(end - self.pos + 1)[:-1]
        return text.decode("utf-8")

    def load(self) -> Any:
        try:
            while True:
                op = self._take(1)[0]
                handler = _DISPATCH.get(op)
                if handler is None:
                    name = next((o.name for o in pickletools.opcodes if o.code == chr(op)), f"byte {op:#04x}")
                    raise Malformed(f"opcode {name} at byte {self.pos - 1} is not used by model files")
                if handler is _stop:
                    return self.stack.pop()
                handler(self)
        except (Refused, Malformed):
            raise
        except (IndexError, KeyError, TypeError, ValueError, AttributeError, struct.error, RecursionError) as e:
            raise Malformed(f"{type(e).__name__} at byte {self.pos}: {e}") from None

    # --- the effects ---------------------------------------------------------------------------

    def find(self, module: str, name: str) -> Any:
        module, name = canonical(module, name)
        full = f"{module}.{name}"
        if full in self.fixed:
            obj = self.fixed[full]
            self.callables.append(obj)
            return obj
        try:
            allowed = allowlist.resolve(module, name)
        except NotAllowed as e:
            raise Refused(e.reason, full, missing=e.missing) from None
        self.kinds[allowed.obj] = allowed.kind
        self.callables.append(allowed.obj)
        return allowed.obj

    def reduce(self, func: Any, args: Any) -> Any:
        handler = self.calls.get(func) if _hashable(func) else None
        if handler is None or not isinstance(args, tuple):
            raise Refused(
                f"a call of {_name(func)}{_short(args)}; snnc calls no class and only a few listed functions "
                "while loading"
            )
        try:
            result = handler(*args)
        except (Refused, Malformed):
            raise
        except pickle.UnpicklingError as e:
            raise Refused(str(e)) from None
        except Exception as e:  # torch or Python rejecting checked-type arguments: a broken file
            raise Malformed(f"{getattr(func, '__qualname__', func)}: {type(e).__name__}: {e}") from None
        if func is getattr:
            self.callables.append(result)
        return result

    def new(self, cls: Any, args: Any, kwargs: Any) -> Any:
        kind = self.kinds.get(cls) if _hashable(cls) else None
        if kind is None or kind is Kind.REFERENCE or not isinstance(args, tuple) or kwargs:
            raise Refused(
                f"a new {_name(cls)}{_short(args)}; snnc creates only allowlisted layer and parameter classes"
            )
        if kind is Kind.TUPLE:
            if len(args) != len(cls._fields):
                raise Malformed(f"{cls.__qualname__} has {len(cls._fields)} fields, the file gives {len(args)}")
            return tuple.__new__(cls, args)
        if args:
            raise Refused(f"arguments {_short(args)} for {_name(cls)}.__new__, which takes none")
        return object.__new__(cls)

    def build(self, inst: Any, state: Any) -> None:
        kind = self.kinds.get(type(inst))
        if type(inst) is functools.partial:
            return self._build_partial(inst, state)
        if kind not in (Kind.MODULE, Kind.RECORD) and type(inst) is not OrderedDict:
            raise Refused(f"setting the state of a {_name(type(inst))}, which is no allowlisted class")
        if not (isinstance(state, dict) and all(isinstance(k, str) for k in state)):
            raise Malformed(f"the state of a {type(inst).__qualname__} is not a dict of attribute names")
        if kind is Kind.MODULE:
            try:
                inst.__setstate__(state)  # nn.Module's (or torch.nn's own), allowlist.py
            except Exception as e:
                raise Malformed(f"{type(inst).__qualname__}.__setstate__: {type(e).__name__}: {e}") from None
        else:
            inst.__dict__.update(state)

    def _build_partial(self, inst: functools.partial, state: Any) -> None:
        ok = (
            isinstance(state, tuple)
            and len(state) == 4
            and any(state[0] is c for c in self.callables)
            and isinstance(state[1], tuple)
            and isinstance(state[2], (dict, type(None)))
            and isinstance(state[3], (dict, type(None)))
        )
        if not ok:
            raise Refused("a functools.partial around a callable that is not on the allowlist")
        inst.__setstate__(state)


def canonical(module: str, name: str) -> tuple[str, str]:
    """Python 2 names as Python 3 spells them (`__builtin__.set`: protocol 2 pickles write these;
    pickle.Unpickler's fix_imports), through the same tables."""
    module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def _name(obj: Any) -> str:
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    return f"{module}.{qualname}" if module else qualname


def _short(args: Any) -> str:
    text = repr(args) if isinstance(args, tuple) else f"({args!r})"
    return text if len(text) <= 60 else text[:57] + "...)"


def _hashable(obj: Any) -> bool:
    try:
        hash(obj)
    except TypeError:
        return False
    return True


def scan_globals(data: bytes) -> list[tuple[str, str]]:
    """Every (module, name) a GLOBAL or STACK_GLOBAL opcode names, without running the stream (to
    report all refused names at once). Strings reach STACK_GLOBAL from the stack or the memo."""
    found: list[tuple[str, str]] = []
    strings: list[Any] = []
    memo: dict[int, Any] = {}
    try:
        for op, arg, _ in pickletools.genops(data):
            if op.name == "GLOBAL":
                module, _, name = arg.partition(" ")
                found.append((module, name))
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2 and all(isinstance(s, str) for s in strings[-2:]):
                found.append((strings[-2], strings[-1]))
            elif op.name in ("MEMOIZE", "BINPUT", "LONG_BINPUT"):
                memo[len(memo) if op.name == "MEMOIZE" else arg] = strings[-1] if strings else None
                continue
            strings.append(memo.get(arg) if op.name in ("BINGET", "LONG_BINGET") else arg)
            del strings[:-2]
    except Exception:  # a broken stream: the run itself reports where
        pass
    return found


def _stop(u: RestrictedUnpickler) -> None:  # handled in `load`
    raise AssertionError


def _push(u: RestrictedUnpickler, value: Any) -> None:
    """Push onto the current stack (after `_pop_mark` has restored it: `u.stack.append(...)` written
    around a `_pop_mark` call would bind the stack that call discards)."""
    u.stack.append(value)


def _pop_mark(u: RestrictedUnpickler) -> list[Any]:
    items = u.stack
    u.stack = u.marks.pop()
    return items


def _memo_put(u: RestrictedUnpickler, index: int) -> None:
    u.memo[index] = u.stack[-1]


def _setitems(u: RestrictedUnpickler, items: list[Any]) -> None:
    target = u.stack[-1]
    if type(target) not in (dict, OrderedDict) or len(items) % 2:
        raise Malformed(f"SETITEMS on a {type(target).__name__}")
    for k in range(0, len(items), 2):
        target[items[k]] = items[k + 1]


def _appends(u: RestrictedUnpickler, items: list[Any]) -> None:
    if type(u.stack[-1]) is not list:
        raise Malformed(f"APPENDS on a {type(u.stack[-1]).__name__}")
    u.stack[-1].extend(items)


def _additems(u: RestrictedUnpickler, items: list[Any]) -> None:
    if type(u.stack[-1]) is not set:
        raise Malformed(f"ADDITEMS on a {type(u.stack[-1]).__name__}")
    u.stack[-1].update(items)


def _dict(u: RestrictedUnpickler) -> None:
    items = _pop_mark(u)
    u.stack.append({})
    _setitems(u, items)


def _tuple(u: RestrictedUnpickler, n: int) -> None:
    if len(u.stack) < n:
        raise Malformed(f"TUPLE{n} on a stack of {len(u.stack)}")
    u.stack[-n:] = [tuple(u.stack[-n:])]


def _proto(u: RestrictedUnpickler) -> None:
    u.proto = u._take(1)[0]
    if not 2 <= u.proto <= 5:
        raise Malformed(f"pickle protocol {u.proto}; model files use 2 to 5")


def _mark(u: RestrictedUnpickler) -> None:
    u.marks.append(u.stack)
    u.stack = []


def _newobj(u: RestrictedUnpickler) -> None:
    args = u.stack.pop()
    u.stack[-1] = u.new(u.stack[-1], args, None)


def _newobj_ex(u: RestrictedUnpickler) -> None:
    kwargs, args = u.stack.pop(), u.stack.pop()
    u.stack[-1] = u.new(u.stack[-1], args, kwargs)


def _reduce(u: RestrictedUnpickler) -> None:
    args = u.stack.pop()
    u.stack[-1] = u.reduce(u.stack[-1], args)


def _build(u: RestrictedUnpickler) -> None:
    state = u.stack.pop()
    u.build(u.stack[-1], state)


def _global(u: RestrictedUnpickler) -> None:
    module = u._line()
    u.stack.append(u.find(module, u._line()))


def _stack_global(u: RestrictedUnpickler) -> None:
    name, module = u.stack.pop(), u.stack.pop()
    if not (isinstance(module, str) and isinstance(name, str)):
        raise Malformed("STACK_GLOBAL needs two strings")
    u.stack.append(u.find(module, name))


def _text(u: RestrictedUnpickler, size_format: str) -> None:
    u.stack.append(str(u._take(u._unpack(size_format)), "utf-8", "surrogatepass"))


def _bytes(u: RestrictedUnpickler, size_format: str, kind: type = bytes) -> None:
    u.stack.append(kind(u._take(u._unpack(size_format))))


def _persid(u: RestrictedUnpickler) -> None:
    u.stack.append(u.persistent_load(u.stack.pop()))


_DISPATCH: dict[int, Callable[[RestrictedUnpickler], None]] = {
    pickle.PROTO[0]: _proto,
    pickle.FRAME[0]: lambda u: u._take(8),  # a length prefix for buffering; the data is all in memory
    pickle.STOP[0]: _stop,
    pickle.MARK[0]: _mark,
    pickle.POP[0]: lambda u: u.stack.pop(),
    pickle.POP_MARK[0]: _pop_mark,
    pickle.DUP[0]: lambda u: u.stack.append(u.stack[-1]),
    pickle.NONE[0]: lambda u: u.stack.append(None),
    pickle.NEWTRUE[0]: lambda u: u.stack.append(True),
    pickle.NEWFALSE[0]: lambda u: u.stack.append(False),
    pickle.BININT[0]: lambda u: u.stack.append(u._unpack("<i")),
    pickle.BININT1[0]: lambda u: u.stack.append(u._take(1)[0]),
    pickle.BININT2[0]: lambda u: u.stack.append(u._unpack("<H")),
    pickle.LONG1[0]: lambda u: u.stack.append(pickle.decode_long(u._take(u._take(1)[0]))),
    pickle.LONG4[0]: lambda u: u.stack.append(pickle.decode_long(u._take(u._unpack("<i")))),
    pickle.BINFLOAT[0]: lambda u: u.stack.append(u._unpack(">d")),
    pickle.BINUNICODE[0]: lambda u: _text(u, "<I"),
    pickle.SHORT_BINUNICODE[0]: lambda u: _text(u, "<B"),
    pickle.BINUNICODE8[0]: lambda u: _text(u, "<Q"),
    pickle.SHORT_BINSTRING[0]: lambda u: u.stack.append(u._take(u._take(1)[0]).decode("ascii")),
    pickle.BINSTRING[0]: lambda u: u.stack.append(u._take(u._unpack("<i")).decode("ascii")),
    pickle.BINBYTES[0]: lambda u: _bytes(u, "<I"),
    pickle.SHORT_BINBYTES[0]: lambda u: _bytes(u, "<B"),
    pickle.BINBYTES8[0]: lambda u: _bytes(u, "<Q"),
    pickle.BYTEARRAY8[0]: lambda u: _bytes(u, "<Q", bytearray),
    pickle.EMPTY_TUPLE[0]: lambda u: u.stack.append(()),
    pickle.TUPLE[0]: lambda u: _push(u, tuple(_pop_mark(u))),
    pickle.TUPLE1[0]: lambda u: _tuple(u, 1),
    pickle.TUPLE2[0]: lambda u: _tuple(u, 2),
    pickle.TUPLE3[0]: lambda u: _tuple(u, 3),
    pickle.EMPTY_LIST[0]: lambda u: u.stack.append([]),
    pickle.LIST[0]: lambda u: _push(u, _pop_mark(u)),
    pickle.APPEND[0]: lambda u: _appends(u, [u.stack.pop()]),
    pickle.APPENDS[0]: lambda u: _appends(u, _pop_mark(u)),
    pickle.EMPTY_DICT[0]: lambda u: u.stack.append({}),
    pickle.DICT[0]: _dict,
    pickle.SETITEM[0]: lambda u: _setitems(u, [u.stack.pop(-2), u.stack.pop()]),
    pickle.SETITEMS[0]: lambda u: _setitems(u, _pop_mark(u)),
    pickle.EMPTY_SET[0]: lambda u: u.stack.append(set()),
    pickle.ADDITEMS[0]: lambda u: _additems(u, _pop_mark(u)),
    pickle.FROZENSET[0]: lambda u: _push(u, frozenset(_pop_mark(u))),
    pickle.BINPUT[0]: lambda u: _memo_put(u, u._take(1)[0]),
    pickle.LONG_BINPUT[0]: lambda u: _memo_put(u, u._unpack("<I")),
    pickle.MEMOIZE[0]: lambda u: _memo_put(u, len(u.memo)),
    pickle.BINGET[0]: lambda u: u.stack.append(u.memo[u._take(1)[0]]),
    pickle.LONG_BINGET[0]: lambda u: u.stack.append(u.memo[u._unpack("<I")]),
    pickle.GLOBAL[0]: _global,
    pickle.STACK_GLOBAL[0]: _stack_global,
    pickle.REDUCE[0]: _reduce,
    pickle.NEWOBJ[0]: _newobj,
    pickle.NEWOBJ_EX[0]: _newobj_ex,
    pickle.BUILD[0]: _build,
    pickle.BINPERSID[0]: _persid,
}
