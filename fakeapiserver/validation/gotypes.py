"""The Go types behind the built-in kinds, as far as the control plane reads them.

kube-apiserver decodes every body into Go structs, and its error messages name those types
(``json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type
int32``). To answer with the same words we keep the type facts as data: each API package
(:class:`Package`) lists its structs as Go-like field lists (``"replicas *int32, selector
*metav1.LabelSelector"``, in Go declaration order, which decides which error comes first), its
named string types, its named map/slice types, and the structs we deliberately leave
*opaque* (checked to be an object, contents not looked at: volume sources nobody reads,
security contexts, …). :func:`root` resolves a kind to its Go struct.

Field order, names and types were transcribed from k8s.io/api, k8s.io/apimachinery and
k8s.io/kube-aggregator v0.30.0 (the Kubernetes 1.30 the simulator emulates by default; the
fields used here are the same in 1.26–1.33).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

#: Go's integer kinds: (bits, signed).
_INTS = {"int8": (8, True), "int16": (16, True), "int32": (32, True), "int64": (64, True),
         "int": (64, True), "uint8": (8, False), "uint16": (16, False), "uint32": (32, False),
         "uint64": (64, False), "uint": (64, False), "byte": (8, False)}
_FLOATS = {"float32", "float64"}


class GoType:
    """A Go type; ``display`` is what ``reflect.Type.String()`` prints (``[]v1.Container``)."""

    display: str
    #: reflect.Kind name (``string``, ``int32``, ``slice``, ``map``, ``struct``…).
    kind: str


@dataclass(eq=False)
class Scalar(GoType):
    """string, bool, the integers and floats, and named types over them (``v1.Protocol``)."""

    display: str
    kind: str  # the underlying Go kind: "string", "bool", "int32", "float64", …

    @property
    def is_int(self) -> bool:
        return self.kind in _INTS

    @property
    def is_float(self) -> bool:
        return self.kind in _FLOATS

    def int_range(self) -> tuple[int, int]:
        bits, signed = _INTS[self.kind]
        if signed:
            return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        return 0, (1 << bits) - 1


@dataclass(eq=False)
class Special(GoType):
    """A type with its own JSON unmarshaler: ``quantity``, ``intorstring``, ``time``,
    ``microtime``, or ``raw`` (RawExtension, FieldsV1, interface{}: anything goes)."""

    display: str
    what: str
    kind: str = "struct"


@dataclass(eq=False)
class Bytes(GoType):
    """``[]byte``: base64 text in JSON."""

    display: str = "[]uint8"
    kind: str = "slice"


@dataclass(eq=False)
class Slice(GoType):
    elem: GoType
    display: str
    #: For server-side apply: the associative list's key fields and their defaults
    #: (``()`` means an atomic list, addressed by index).
    keys: tuple[tuple[str, object], ...] = ()
    kind: str = "slice"


@dataclass(eq=False)
class Map(GoType):
    elem: GoType
    display: str
    kind: str = "map"


@dataclass(eq=False)
class Struct(GoType):
    """A Go struct; ``name`` is ``reflect.Type.Name()`` (``DeploymentSpec``)."""

    name: str
    display: str
    package: Package
    opaque: bool = False
    kind: str = "struct"
    _fields: dict[str, GoType] | None = field(default=None, repr=False)

    @property
    def fields(self) -> dict[str, GoType]:
        """JSON name → type, embedded (``json:",inline"``) structs flattened, in Go order."""
        if self._fields is None:
            self._fields = self.package.struct_fields(self.name)
        return self._fields


class SchemaError(LookupError):
    """A schema table refers to a type nobody defined (a bug in the tables)."""


_BUILTIN_SPECIALS = {
    "resource.Quantity": ("resource.Quantity", "quantity"),
    "intstr.IntOrString": ("intstr.IntOrString", "intorstring"),
    "runtime.RawExtension": ("runtime.RawExtension", "raw"),
    "interface{}": ("interface {}", "raw"),
}
_BUILTIN_STRINGS = {"types.UID": "types.UID"}

PACKAGES: dict[str, Package] = {}


class Package:
    """One Go API package's type table (see the module docstring)."""

    def __init__(self, path: str, name: str, *, imports: Mapping[str, str] | None = None,
                 structs: Mapping[str, str], strings: Iterable[str] = (),
                 named: Mapping[str, str] | None = None, opaque: Iterable[str] = (),
                 specials: Mapping[str, str] | None = None,
                 list_keys: Mapping[str, tuple[str, ...]] | None = None,
                 key_defaults: Mapping[str, object] | None = None) -> None:
        self.path = path
        self.name = name
        self.imports = dict(imports or {})
        self.structs = dict(structs)
        self.strings = frozenset(strings)
        self.named = dict(named or {})
        self.opaque = frozenset(opaque)
        self.specials = dict(specials or {})
        #: ``"Struct.field"`` → key field names of an associative list (server-side apply).
        self.list_keys = dict(list_keys or {})
        self.key_defaults = dict(key_defaults or {})
        self._cache: dict[str, GoType] = {}
        PACKAGES[path] = self

    # -- resolution ---------------------------------------------------------------------------
    def type(self, expr: str, owner: str = "", field_name: str = "") -> GoType:
        """Resolve a Go type expression written in this package (``*[]metav1.Condition``)."""
        expr = expr.strip()
        while expr.startswith("*"):
            expr = expr[1:]
        if expr.startswith("[]"):
            if expr == "[]byte":
                return Bytes()
            elem = self.type(expr[2:])
            keys = tuple((k, self.key_defaults.get(k)) for k in
                         self.list_keys.get(f"{owner}.{field_name}", ()))
            return Slice(elem, f"[]{elem.display}", keys)
        if expr.startswith("map["):
            close = expr.index("]")
            key = self.type(expr[4:close])
            elem = self.type(expr[close + 1:])
            return Map(elem, f"map[{key.display}]{elem.display}")
        cached = self._cache.get(expr)
        if cached is None:
            cached = self._cache[expr] = self._named(expr)
        return cached

    def _named(self, expr: str) -> GoType:
        if expr in _BUILTIN_SPECIALS:
            display, what = _BUILTIN_SPECIALS[expr]
            return Special(display, what)
        if expr in _BUILTIN_STRINGS:
            return Scalar(_BUILTIN_STRINGS[expr], "string")
        if expr == "string" or expr == "bool" or expr in _INTS or expr in _FLOATS:
            return Scalar("uint8" if expr == "byte" else expr, "uint8" if expr == "byte" else expr)
        alias, dot, name = expr.rpartition(".")
        if dot:
            target = self.imports.get(alias)
            if target is None or target not in PACKAGES:
                raise SchemaError(f"{self.path}: unknown package {alias!r} in {expr!r}")
            return PACKAGES[target].type(name)
        if name in self.specials:
            return Special(f"{self.name}.{name}", self.specials[name])
        if name in self.strings:
            return Scalar(f"{self.name}.{name}", "string")
        if name in self.named:
            underlying = self.type(self.named[name])
            if isinstance(underlying, Map):
                return Map(underlying.elem, f"{self.name}.{name}")
            if isinstance(underlying, Slice):
                return Slice(underlying.elem, f"{self.name}.{name}", underlying.keys)
            raise SchemaError(f"{self.path}: named type {name} must be a map or slice")
        if name in self.structs or name in self.opaque:
            return Struct(name, f"{self.name}.{name}", self, opaque=name in self.opaque)
        raise SchemaError(f"{self.path}: no type {name!r}")

    def struct_fields(self, name: str) -> dict[str, GoType]:
        if name in self.opaque:
            return {}
        fields: dict[str, GoType] = {}
        for item in self.structs[name].split(","):
            json_name, _, expr = item.strip().partition(" ")
            if json_name == "...":  # an embedded struct: its fields are promoted
                embedded = self.type(expr)
                if not isinstance(embedded, Struct):
                    raise SchemaError(f"{self.path}.{name}: {expr} is not a struct")
                fields.update(embedded.fields)
            else:
                fields[json_name] = self.type(expr, name, json_name)
        return fields

    def all_types(self) -> list[GoType]:
        """Every struct of the package, resolved (tests use it to catch dangling names)."""
        out: list[GoType] = []
        for name in sorted(set(self.structs) | self.opaque):
            struct = self.type(name)
            if isinstance(struct, Struct):
                out.append(struct)
                out.extend(struct.fields.values())
        return out


#: (group, version, Kind) → (package path, struct name) of the kinds we type-check.
ROOTS: dict[tuple[str, str, str], tuple[str, str]] = {}


def register_roots(path: str, group: str, version: str, kinds: Iterable[str]) -> None:
    for kind in kinds:
        ROOTS[(group, version, kind)] = (path, kind)


def root(group: str, version: str, kind: str) -> Struct | None:
    """The Go struct of a kind, or ``None`` for kinds we don't type-check."""
    where = ROOTS.get((group, version, kind))
    if where is None:
        return None
    struct = PACKAGES[where[0]].type(where[1])
    assert isinstance(struct, Struct)
    return struct
