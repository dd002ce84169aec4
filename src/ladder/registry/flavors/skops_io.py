"""Reading skops files fast with skops' own trust rules (falling back to skops), and writing them.

``skops.io.loads`` builds a tree of node objects, audits it, then constructs the
model; for a 100-tree forest most of its time goes to that bookkeeping and to
``np.load`` parsing ~500 array headers with ``ast.literal_eval``. This reader
reads the same files in two plain passes over ``schema.json``:

1. **audit**: walk the schema in the order skops' ``get_tree`` does, with the
   same ``__id__`` sharing, and collect every type name a node would load that
   is neither in skops' default trusted set for that node kind (taken from skops
   itself) nor in the caller's list. Nothing is imported and no array parsed
   (array members are only found and CRC-checked, where skops reads them).
   Any untrusted name raises ``UntrustedTypes`` before anything is built.
2. **build**: construct the objects exactly as skops' ``_construct`` methods do
   (``cls.__new__`` then ``__setstate__`` or ``__dict__``, ``Tree(*args)``, ...),
   reading arrays straight from the archive with a strict ``.npy`` header match.

Anything outside what was checked against skops' node implementations (another
node kind, an older protocol, another skops version, a zip that is not a plain
stored archive, an unusual header, an error while building) raises
``NotHandled``; ``load_skops`` then hands the bytes to ``skops.io.loads`` with
the same trusted list, so this reader is never less strict or less capable.

``dump_skops`` writes what ``skops.io.dumps`` writes, with ``schema.json``
without indentation: a 100-tree forest's schema shrinks from 1.6 MB to 0.7 MB,
which halves the time to parse it. Plain ``skops.io.load`` reads these files.
"""

from __future__ import annotations

import importlib
import io
import itertools
import json
import math
import re
import struct
import zipfile
import zlib
from collections.abc import Collection, Iterable, Sequence
from typing import Any

import numpy as np
import orjson
import skops
import skops.io as sio
from sklearn.tree._tree import Tree
from skops.io._protocol import PROTOCOL
from skops.io._sklearn import ALLOWED_LOSSES
from skops.io._trusted_types import (
    CONTAINER_TYPE_NAMES,
    NUMPY_DTYPE_TYPE_NAMES,
    NUMPY_RANDOM_BIT_GENERATOR_TYPE_NAMES,
    PRIMITIVE_TYPE_NAMES,
    SKLEARN_ESTIMATOR_TYPE_NAMES,
    SKLEARN_INTERNAL_TYPE_NAMES,
)
from skops.io._utils import SaveContext, get_module, get_state, get_type_paths
from skops.io.exceptions import UntrustedTypesFoundException

# The skops releases whose node implementations this reader was checked against
# (loaders, default trusted types, construct semantics); any other falls back.
VERIFIED_SKOPS = ("0.16.",)
_SKOPS_VERIFIED = skops.__version__.startswith(VERIFIED_SKOPS) and PROTOCOL == 2

# Default trusted type names per node kind, as each skops node's __init__ computes them.
_DICT = frozenset(get_type_paths([dict, "collections.OrderedDict"]))
_LIST = frozenset(get_type_paths([list]))
_SET = frozenset(get_type_paths([set]))
_TUPLE = frozenset(get_type_paths([tuple]))
_TYPE = frozenset(PRIMITIVE_TYPE_NAMES + CONTAINER_TYPE_NAMES + NUMPY_DTYPE_TYPE_NAMES)
_OBJECT = frozenset(SKLEARN_ESTIMATOR_TYPE_NAMES + SKLEARN_INTERNAL_TYPE_NAMES)
_NDARRAY = frozenset(get_type_paths([np.ndarray, *NUMPY_DTYPE_TYPE_NAMES]))
_RANDOM_STATE = frozenset(get_type_paths([np.random.RandomState]))
_GENERATOR = frozenset(get_type_paths([np.random.Generator]))
_BIT_GENERATORS = frozenset(NUMPY_RANDOM_BIT_GENERATOR_TYPE_NAMES)
_LOSSES = frozenset(f"{get_module(loss)}.{loss.__name__}" for loss in ALLOWED_LOSSES)
_NOTHING: frozenset[str] = frozenset()
_UNBUILT = object()
_SLICE_BOUNDS = ("start", "stop", "step")
_JSON_CONSTANTS: dict[str, Any] = {"null": None, "true": True, "false": False}
_TREE_MODULE = get_module(Tree)

# Zip records (PKWARE APPNOTE): end of central directory, central and local headers.
_END = struct.Struct("<4s4H2LH")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_LOCAL = struct.Struct("<4s5H3L2H")
_UTF8_NAMES = 0x800
_UNSUPPORTED_FLAGS = 0x1 | 0x8 | 0x20 | 0x40  # encrypted, data descriptor, patched, strong

# A .npy version 1.0 header exactly as numpy writes it, for plain and record dtypes.
# Anything else (other versions, key orders, spacing) is read by numpy itself.
_TYPESTR = rb"'[<>|=]?[A-Za-z]\d*'"
_FIELD = rb"\('[A-Za-z0-9_]*', " + _TYPESTR + rb"\)"
_DIM = rb"(?:0|[1-9]\d*)"
_NPY_HEADER = re.compile(
    rb"\x93NUMPY\x01\x00[\x00-\xff]{2}"
    rb"\{'descr': (" + _TYPESTR + rb"|\[" + _FIELD + rb"(?:, " + _FIELD + rb")*\]), "
    rb"'fortran_order': (True|False), "
    rb"'shape': \((|" + _DIM + rb",|" + _DIM + rb"(?:, " + _DIM + rb")+)\), \} *\n"
)
_FIELDS = re.compile(rb"\('([A-Za-z0-9_]*)', '([<>|=]?[A-Za-z]\d*)'\)")
_NPY_MAX_HEADER = 10000  # numpy's default max_header_size for np.load
_dtypes: dict[bytes, np.dtype[Any]] = {}  # header descr text -> dtype (bounded below)
_DTYPE_CACHE_SIZE = 256


class NotHandled(Exception):
    """The file uses something this reader leaves to skops (the message says what)."""


class UntrustedTypes(Exception):
    """The file names types outside skops' defaults and the caller's trusted list."""

    def __init__(self, types: Iterable[str]) -> None:
        self.types = sorted(types)
        super().__init__(f"untrusted types in the skops file: {', '.join(self.types)}")


def dump_skops(obj: Any) -> bytes:
    """``skops.io.dumps(obj)`` with a compact ``schema.json`` (same content, no indentation)."""
    if not _SKOPS_VERIFIED:
        return sio.dumps(obj)
    buffer = io.BytesIO()
    # skops.io._persist._save, but for the separators json.dumps is given.
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        context = SaveContext(zip_file=archive)
        state = get_state(obj, context)
        context.clear_memo()
        state["protocol"] = context.protocol
        state["_skops_version"] = skops.__version__
        archive.writestr("schema.json", json.dumps(state, separators=(",", ":")))
    return buffer.getvalue()


def load_skops(data: bytes, trusted: Sequence[str]) -> Any:
    """The object saved in the skops file ``data``, loading only trusted types.

    Raises ``UntrustedTypes`` naming the types to trust; errors from a file that
    is not a readable skops archive are skops' own (``zipfile.BadZipFile``, ...).
    """
    try:
        return read_skops(data, trusted)
    except NotHandled:
        pass
    try:
        return sio.loads(data, trusted=list(trusted))
    except UntrustedTypesFoundException:
        untrusted = set(sio.get_untrusted_types(data=data)) - set(trusted)
        raise UntrustedTypes(untrusted) from None


def read_skops(data: bytes, trusted: Sequence[str]) -> Any:
    """``load_skops`` without the fallback: raises ``NotHandled`` where skops must read."""
    if not _SKOPS_VERIFIED:
        raise NotHandled(f"skops {skops.__version__} is not one this reader was checked against")
    try:
        archive = _Archive(data)
        schema = _parse_schema(archive)
        reader = _Reader(archive, frozenset(trusted))
        reader.audit(schema, reader.trusted)
    except NotHandled:
        raise
    except Exception as exc:  # a malformed file: skops reports it in its own words
        raise NotHandled(f"not understood: {exc!r}") from exc
    # As skops' audit_tree: whatever the nodes flagged, less what the caller trusts.
    untrusted = reader.untrusted - reader.trusted
    if untrusted:
        raise UntrustedTypes(untrusted)
    try:
        return reader.build(schema)
    except NotHandled:
        raise
    except Exception as exc:  # skops raises the same, or knows better
        raise NotHandled(f"building failed: {exc!r}") from exc


def _parse_schema(archive: _Archive) -> dict[str, Any]:
    raw = archive.read("schema.json")
    try:
        # Twice as fast as json. It reads integers beyond 64 bits as floats, where json
        # keeps them exact; the only numbers the reader uses (__id__, slice bounds) are
        # refused unless they are ints, and it refuses what json would accept (NaN, ...).
        schema = orjson.loads(raw)
    except orjson.JSONDecodeError:
        schema = json.loads(raw)
    if not isinstance(schema, dict):
        raise NotHandled("schema.json is not an object")
    protocol = schema.get("protocol")
    if type(protocol) is not int or protocol != PROTOCOL:
        raise NotHandled(f"protocol {protocol!r}, this reader knows {PROTOCOL}")
    return schema


class _Archive:
    """The members of a stored (uncompressed) zip archive, read in place, CRC checked.

    Only the plain layout ``zipfile`` writes is accepted: no comment, no zip64,
    no compression, encryption or data descriptors, unique names, local headers
    that agree with the central directory.
    """

    def __init__(self, data: bytes) -> None:
        self.data = data
        end_at = len(data) - _END.size
        if end_at < 0:
            raise NotHandled("too short for a zip archive")
        magic, disk, cd_disk, on_disk, entries, cd_size, cd_at, comment = _END.unpack_from(
            data, end_at
        )
        if magic != b"PK\x05\x06" or disk or cd_disk or on_disk != entries or comment:
            raise NotHandled("not a single-disk zip archive without a comment")
        if cd_at + cd_size != end_at:
            raise NotHandled("central directory not where the end record says")
        self.members: dict[str, tuple[int, int, int]] = {}
        self.checked: dict[str, tuple[int, int]] = {}  # members whose CRC-32 was verified
        spans = []
        at = cd_at
        for _ in range(entries):
            (magic, _made, _needed, flags, method, _time, _date, crc, csize, usize, name_len,
             extra_len, comment_len, _disk, _internal, _external, local_at) = (
                _CENTRAL.unpack_from(data, at))  # fmt: skip
            if magic != b"PK\x01\x02" or method != 0 or flags & _UNSUPPORTED_FLAGS:
                raise NotHandled("a member is compressed, encrypted or malformed")
            if csize != usize or 0xFFFFFFFF in (csize, local_at):
                raise NotHandled("a member needs zip64 or has inconsistent sizes")
            raw_name = data[at + _CENTRAL.size : at + _CENTRAL.size + name_len]
            name = raw_name.decode("utf-8" if flags & _UTF8_NAMES else "cp437")
            if "\x00" in name:  # zipfile cuts names at a NUL; two could then collide
                raise NotHandled(f"member name {name!r} holds a NUL")
            at += _CENTRAL.size + name_len + extra_len + comment_len
            (lmagic, _v, lflags, lmethod, _t, _d, _crc, _cs, _us, lname_len, lextra_len) = (
                _LOCAL.unpack_from(data, local_at))  # fmt: skip
            start = local_at + _LOCAL.size + lname_len + lextra_len
            local_name = data[local_at + _LOCAL.size : local_at + _LOCAL.size + lname_len]
            if lmagic != b"PK\x03\x04" or local_name != raw_name or lmethod != 0 or lflags != flags:
                raise NotHandled(f"local header of {name!r} disagrees with the directory")
            if name in self.members:
                raise NotHandled(f"member {name!r} appears twice")
            self.members[name] = (start, start + csize, crc)
            spans.append((local_at, start + csize))
        if at != end_at:
            raise NotHandled("central directory size does not match its entries")
        spans.sort()
        for (_, end), (next_at, _) in itertools.pairwise(spans):
            if end > next_at:
                raise NotHandled("members overlap")
        if spans and spans[-1][1] > cd_at:
            raise NotHandled("a member runs into the central directory")

    def span(self, name: str) -> tuple[int, int]:
        """Start and end offsets of member ``name`` in ``data``, after checking its CRC-32."""
        span = self.checked.get(name)
        if span is None:
            try:
                start, end, crc = self.members[name]
            except KeyError:
                raise NotHandled(f"no member {name!r}") from None
            if zlib.crc32(memoryview(self.data)[start:end]) != crc:
                raise NotHandled(f"bad CRC-32 for {name!r}")
            span = self.checked[name] = (start, end)
        return span

    def read(self, name: str) -> bytes:
        start, end = self.span(name)
        return self.data[start:end]

    def array(self, name: str) -> np.ndarray:
        """Member ``name`` (a ``.npy`` file) as ``np.load(..., allow_pickle=False)`` reads it."""
        start, end = self.span(name)
        data = self.data
        match = _NPY_HEADER.match(data, start, end)
        if match is not None:
            descr, fortran, dims = match.groups()
            offset = match.end()
            dtype = _dtypes.get(descr) or _plain_dtype(descr)
            if not dims:
                shape: tuple[int, ...] = ()
            elif dims[-1:] == b",":
                shape = (int(dims[:-1]),)
            else:
                shape = tuple(map(int, dims.split(b", ")))
            count = math.prod(shape)
            if (
                dtype is not None
                and offset - start - 10 == data[start + 8] | data[start + 9] << 8
                and offset - start - 10 <= _NPY_MAX_HEADER
                and offset + count * dtype.itemsize <= end
            ):
                flat = np.frombuffer(data, dtype=dtype, count=count, offset=offset).copy()
                if fortran == b"True":
                    return flat.reshape(shape[::-1]).transpose()
                return flat.reshape(shape)
        # Other headers, object arrays and short data: numpy decides (and raises) as np.load.
        return np.lib.format.read_array(io.BytesIO(data[start:end]), allow_pickle=False)


def _plain_dtype(descr: bytes) -> np.dtype[Any] | None:
    """The dtype numpy makes of a matched header ``descr``; None unless it holds plain data."""
    value: Any  # what ast.literal_eval makes of the text: a str or a list of 2-tuples
    if descr.startswith(b"["):
        value = [(name.decode(), typestr.decode()) for name, typestr in _FIELDS.findall(descr)]
    else:
        value = descr[1:-1].decode()
    try:
        dtype = np.lib.format.descr_to_dtype(value)
    except Exception:
        return None
    if dtype.hasobject or dtype.itemsize == 0:  # pickles, or nothing frombuffer can read
        return None
    if len(_dtypes) < _DTYPE_CACHE_SIZE:
        _dtypes[descr] = dtype
    return dtype


class _Reader:
    """The two passes over one schema: ``audit`` (names only), then ``build``."""

    def __init__(self, archive: _Archive, trusted: frozenset[str]) -> None:
        self.archive = archive
        self.trusted = trusted
        self.untrusted: set[str] = set()
        self.first: dict[Any, dict[str, Any]] = {}  # __id__ -> the state skops keeps for it
        self.built: dict[Any, Any] = {}
        self.building: set[Any] = set()
        self.types: dict[tuple[str, str], Any] = {}

    # -- audit: mirrors get_tree + each node's __init__ and get_unsafe_set --------------

    def _check(
        self, module: Any, name: Any, trusted: Collection[str], default: Collection[str]
    ) -> None:
        if type(module) is not str or type(name) is not str:
            raise NotHandled("a type name is not a string")
        path = f"{module}.{name}"
        if path not in trusted and path not in default:
            self.untrusted.add(path)

    def _seen(self, state: Any) -> bool:
        """Whether ``state`` is a node whose id was audited already (what ``audit`` skips)."""
        saved_id = state.get("__id__") if type(state) is dict else None
        return type(saved_id) is int and saved_id in self.first

    def audit(self, state: Any, trusted: frozenset[str]) -> None:
        if type(state) is not dict:
            raise NotHandled("a node is not an object")
        saved_id = state.get("__id__")
        if saved_id is not None and type(saved_id) is not int:
            raise NotHandled(f"object id {saved_id!r} is not an integer")
        if saved_id in self.first:
            return  # the object skops already holds for this id; audited where first seen
        loader = state["__loader__"]
        name, module = state["__class__"], state["__module__"]
        if saved_id:
            self.first[saved_id] = state
        audit = self.audit
        if loader == "JsonNode":
            _require(state, "content")
        elif loader == "ObjectNode":
            self._check(module, name, trusted, _OBJECT)
            content = state.get("content")
            if content is not None:
                audit(content, trusted)
        elif loader == "DictNode":
            self._check(module, name, trusted, _DICT)
            audit(state["key_types"], trusted)
            content = state["content"]
            if type(content) is not dict:
                raise NotHandled("DictNode content is not an object")
            for value in content.values():
                if not self._seen(value):  # most are shared (None, small ints): skip the call
                    audit(value, trusted)
        elif loader in ("ListNode", "TupleNode", "SetNode"):
            default = {"ListNode": _LIST, "TupleNode": _TUPLE, "SetNode": _SET}[loader]
            self._check(module, name, trusted, default)
            for value in _items(state["content"]):
                if not self._seen(value):
                    audit(value, trusted)
        elif loader == "TypeNode":
            self._check(module, name, trusted, _TYPE)
        elif loader == "NdArrayNode":
            kind = state["type"]
            self._check(module, name, trusted, _NDARRAY)
            if kind == "numpy":
                self.archive.span(state["file"])  # skops reads it here: missing or bad, it fails
            elif kind == "json":
                for value in _items(state["content"]):
                    audit(value, trusted)
                audit(state["shape"], trusted)
            else:
                raise NotHandled(f"NdArrayNode of type {kind!r}")
        elif loader == "DTypeNode":
            audit(state["content"], trusted)
            self._check(module, name, trusted, _NOTHING)
        elif loader in ("TreeNode", "LossNode"):
            # skops' LossNode passes its widened trusted list down to its children too.
            inner = trusted | _LOSSES if loader == "LossNode" else trusted
            reduce = state["__reduce__"]
            audit(state["content"], inner)
            audit(reduce["args"], inner)
            self._check(module, name, inner, _NOTHING)
            if loader == "TreeNode":
                self._check(_TREE_MODULE, "Tree", inner, _TYPE)
            else:
                self._check(module, name, inner, _TYPE)
        elif loader == "SliceNode":
            content = state["content"]
            _require(content, *_SLICE_BOUNDS)
            if any(type(content[key]) not in (int, type(None)) for key in _SLICE_BOUNDS):
                raise NotHandled("slice bounds that are not integers")
        elif loader == "RandomStateNode":
            audit(state["content"], trusted)
            self._check(module, name, trusted, _RANDOM_STATE)
        elif loader == "RandomGeneratorNode":
            content = state["content"]
            audit(content["bit_generator"], trusted)
            audit(content["seed_seq"], trusted)
            self._check(module, name, trusted, _GENERATOR)
            # skops reviews the bit generator named inside the state as a type of its own.
            bit_generator = f"numpy.random.{_bit_generator_name(content['bit_generator'])}"
            if bit_generator not in _BIT_GENERATORS:
                self.untrusted.add(bit_generator)
        else:
            raise NotHandled(f"loader {loader!r}")

    # -- build: mirrors each node's _construct ------------------------------------------

    def _type(self, module: str, name: str) -> Any:
        key = (module, name)
        found = self.types.get(key)
        if found is None:
            if not module or not name:
                raise NotHandled(f"empty type name {module!r}.{name!r}")
            found = self.types[key] = getattr(importlib.import_module(module), name)
        return found

    def build(self, state: dict[str, Any]) -> Any:
        saved_id = state.get("__id__")
        if saved_id:
            value = self.built.get(saved_id, _UNBUILT)
            if value is not _UNBUILT:
                return value
            if saved_id in self.building:
                raise NotHandled("an object contains itself")
            state = self.first[saved_id]
            self.building.add(saved_id)
            value = self._construct(state)
            self.building.discard(saved_id)
            self.built[saved_id] = value
            return value
        return self._construct(state)

    def _build_all(self, states: list[dict[str, Any]]) -> list[Any]:
        built, build = self.built, self.build
        items = []
        for state in states:
            saved_id = state.get("__id__")
            item = built.get(saved_id, _UNBUILT) if saved_id else _UNBUILT
            items.append(build(state) if item is _UNBUILT else item)
        return items

    def _construct(self, state: dict[str, Any]) -> Any:
        loader = state["__loader__"]
        module, name = state["__module__"], state["__class__"]
        build = self.build
        if loader == "JsonNode":
            content = state["content"]
            constant = _JSON_CONSTANTS.get(content, _UNBUILT) if type(content) is str else _UNBUILT
            return json.loads(content) if constant is _UNBUILT else constant
        if loader == "ObjectNode":
            cls = self._type(module, name)
            instance = cls.__new__(cls)
            content = state.get("content")
            if content is None:
                return instance
            attrs = build(content)
            if attrs is not None:
                if hasattr(instance, "__setstate__"):
                    instance.__setstate__(attrs)
                else:
                    instance.__dict__.update(attrs)
            return instance
        if loader == "DictNode":
            result = {} if (module, name) == ("builtins", "dict") else self._type(module, name)()
            key_types = build(state["key_types"])
            built = self.built
            # zip stops at the shorter of the two, as in skops.
            for key_type, (key, value) in zip(key_types, state["content"].items(), strict=False):
                saved_id = value.get("__id__")
                item = built.get(saved_id, _UNBUILT) if saved_id else _UNBUILT
                result[key_type(key)] = build(value) if item is _UNBUILT else item
            return result
        if loader == "ListNode":
            items = self._build_all(state["content"])
            if (module, name) == ("builtins", "list"):
                return items
            return self._type(module, name)(items)
        if loader == "SetNode":
            return self._type(module, name)([build(value) for value in state["content"]])
        if loader == "TupleNode":
            cls = self._type(module, name)
            content = tuple(build(value) for value in state["content"])
            return cls(*content) if _is_namedtuple(cls) else content
        if loader == "TypeNode":
            return self._type(module, name)
        if loader == "NdArrayNode":
            if state["type"] == "numpy":
                array = self.archive.array(state["file"])
                if f"{module}.{name}" != "numpy.ndarray":
                    return self._type(module, name)(array)
                return array
            shape = build(state["shape"])
            items = [build(value) for value in state["content"]]
            if len(shape) == 1:
                array = np.ndarray(shape=len(items), dtype="O")
                for i, item in enumerate(items):
                    array[i] = item
                return array
            return np.array(items, dtype="O")
        if loader == "DTypeNode":
            return build(state["content"]).dtype
        if loader in ("TreeNode", "LossNode"):
            args = build(state["__reduce__"]["args"])
            # A TreeNode always builds a Tree, whatever class its state names.
            if loader == "TreeNode":
                constructor = self._type(_TREE_MODULE, "Tree")
            else:
                constructor = self._type(module, name)
            instance = constructor(*args)
            attrs = build(state["content"])
            if not attrs:
                return instance
            if hasattr(instance, "__setstate__"):
                instance.__setstate__(attrs)
            elif isinstance(attrs, dict) and not isinstance(args, tuple):
                instance.__dict__.update(attrs)
            else:
                raise NotHandled(f"{module}.{name} cannot take its state")
            return instance
        if loader == "SliceNode":
            content = state["content"]
            return slice(content["start"], content["stop"], content["step"])
        if loader == "RandomStateNode":
            random_state = self._type(module, name)()
            random_state.set_state(build(state["content"]))
            return random_state
        if loader == "RandomGeneratorNode":
            return self._generator(state)
        raise NotHandled(f"loader {loader!r}")

    def _generator(self, state: dict[str, Any]) -> Any:
        content = state["content"]
        seed_seq = np.random.SeedSequence(**self.build(content["seed_seq"]))
        bit_state = self.build(content["bit_generator"])
        # The name audited was read from this node's own state; a shared id could have
        # built another one. Only a name that passes the audit's rule goes on.
        path = f"numpy.random.{bit_state['bit_generator']}"
        if path not in _BIT_GENERATORS and path not in self.trusted:
            raise NotHandled(f"bit generator {path} was not audited")
        bit_generator_cls = getattr(np.random, bit_state["bit_generator"])
        # As skops: never call anything but a real bit generator, whatever was trusted.
        if not (
            isinstance(bit_generator_cls, type)
            and issubclass(bit_generator_cls, np.random.BitGenerator)
        ):
            raise NotHandled(f"{bit_state['bit_generator']!r} is not a bit generator")
        bit_generator = bit_generator_cls(seed_seq)
        bit_generator.state = bit_state
        return self._type(state["__module__"], state["__class__"])(bit_generator=bit_generator)


def _require(state: Any, *keys: str) -> None:
    """Refuse a state missing a key skops reads (skops then raises its KeyError)."""
    if type(state) is not dict or any(key not in state for key in keys):
        raise NotHandled(f"a node lacks one of {keys}")


def _items(content: Any) -> list[Any]:
    if type(content) is not list:
        raise NotHandled("node content is not a list")
    return content


def _bit_generator_name(bit_generator_state: Any) -> str:
    """The bit generator class named inside a Generator's state, as skops finds it."""
    try:
        name = json.loads(bit_generator_state["content"]["bit_generator"]["content"])
    except (KeyError, TypeError, ValueError):
        name = None
    if not isinstance(name, str):
        raise NotHandled("no bit generator name in a numpy Generator state")
    return name


def _is_namedtuple(cls: Any) -> bool:
    bases = cls.__bases__
    if len(bases) != 1 or bases[0] is not tuple:
        return False
    fields = getattr(cls, "_fields", None)
    return isinstance(fields, tuple) and all(isinstance(field, str) for field in fields)
