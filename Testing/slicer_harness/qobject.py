"""Strict stand-ins for PythonQt's QObject: typed signals, declared properties and slots.

Only what is declared exists: reading or writing an attribute that a class does not
declare raises :class:`NotStoodIn` (real PythonQt would often accept a typo silently, or
the attribute would exist in Qt but not here — either way the harness must not pretend).

* **Signals** are declared with their C++ signatures, ``signals = ("clicked(bool)",
  "clicked()")``. ``obj.connect("clicked(bool)", slot)`` and ``obj.clicked.connect(slot)``
  work as in PythonQt; an undeclared signature raises. Emitting checks the argument types
  against the signature, and a Python slot receives as many leading arguments as it accepts
  (PythonQt's rule).
* **Properties** are declared with a default value, ``properties = {"text": ""}``; they are
  Python attributes as in PythonQt. A setter hook ``_set_<name>`` may validate and emit.
* **Slots** callable by name from a ``.ui`` connection are declared in ``slots``.
"""

# ruff: noqa: RUF012  (declared signals, properties and slots are class-level tables)

from __future__ import annotations

import inspect
import re
import sys
import traceback
from collections.abc import Callable
from typing import Any

SLOT_ERRORS: list[tuple[str, BaseException, str]] = []
"""Exceptions raised by Python slots (PythonQt prints them and goes on; tests check this)."""


class NotStoodIn(AttributeError):
    """A Qt/CTK/qMRML member the harness does not provide (and will not fake)."""


class SignatureError(TypeError):
    """A connection or emission that does not match a declared signal signature."""


def normalize(signature: str) -> str:
    """Qt's normalized signature: no spaces (``"clicked( bool )"`` → ``"clicked(bool)"``)."""
    return re.sub(r"\s+", "", signature)


def _arg_types(signature: str) -> list[str]:
    inside = signature[signature.index("(") + 1 : signature.rindex(")")]
    return [t for t in inside.split(",") if t]


def check_argument(qt_type: str, value: Any) -> None:
    """Raise SignatureError unless ``value`` can travel as the C++ type ``qt_type``."""
    ok = True
    if qt_type == "bool":
        ok = isinstance(value, bool)
    elif qt_type == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif qt_type == "double":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif qt_type in ("QString", "constQString&"):
        ok = isinstance(value, str)
    elif qt_type.endswith("*") and qt_type.startswith("vtk"):
        import vtk

        cls = qt_type[:-1]
        if value is not None:
            ok = isinstance(value, vtk.vtkObject) and value.IsA(cls)
    if not ok:
        raise SignatureError(f"a {type(value).__name__} ({value!r}) cannot travel as {qt_type}")


def _accepted(slot: Callable, offered: int) -> int:
    """How many leading signal arguments PythonQt passes to a Python callable."""
    try:
        parameters = inspect.signature(slot).parameters.values()
    except (TypeError, ValueError):
        return offered
    count = 0
    for p in parameters:
        if p.kind == p.VAR_POSITIONAL:
            return offered
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            count += 1
    return min(count, offered)


class BoundSignal:
    """One signal of one object; ``connect``/``disconnect`` as in PythonQt."""

    def __init__(self, owner: QObject, name: str):
        self._owner = owner
        self._name = name

    @property
    def signatures(self) -> list[str]:
        return [s for s in type(self._owner)._signal_signatures() if s.startswith(self._name + "(")]

    def connect(self, slot: Callable) -> bool:
        # PythonQt's attribute form connects to the first overload with the most arguments.
        signature = max(self.signatures, key=lambda s: len(_arg_types(s)))
        return self._owner.connect(signature, slot)

    def disconnect(self, slot: Callable) -> bool:
        removed = False
        for signature in self.signatures:
            removed = self._owner.disconnect(signature, slot) or removed
        if not removed:
            raise SignatureError(f"{self._name} of {self._owner!r} is not connected to {slot!r}")
        return True


class QObjectMeta(type):
    """Collects declared signals, properties and slots along the class hierarchy."""

    def __getattr__(cls, name):  # class attributes (enums) that are not declared
        raise NotStoodIn(f"{cls.__name__}.{name} is not stood in by the Slicer harness")


class QObject(metaclass=QObjectMeta):
    signals: tuple[str, ...] = ("destroyed()", "objectNameChanged(QString)")
    properties: dict[str, Any] = {"objectName": ""}
    slots: tuple[str, ...] = ("deleteLater()",)

    @classmethod
    def _signal_signatures(cls) -> list[str]:
        out: list[str] = []
        for klass in cls.__mro__:
            out += [normalize(s) for s in klass.__dict__.get("signals", ())]
        return out

    @classmethod
    def _declared_properties(cls) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            out.update(klass.__dict__.get("properties", {}))
        return out

    @classmethod
    def _slot_signatures(cls) -> list[str]:
        out: list[str] = []
        for klass in cls.__mro__:
            out += [normalize(s) for s in klass.__dict__.get("slots", ())]
        return out

    def __init__(self, parent: QObject | None = None):
        object.__setattr__(self, "_values", dict(type(self)._declared_properties()))
        object.__setattr__(self, "_dynamic", {})
        object.__setattr__(self, "_connections", [])
        object.__setattr__(self, "_parent", None)
        object.__setattr__(self, "_children", [])
        object.__setattr__(self, "_deleted", False)
        if parent is not None:
            self.setParent(parent)

    # -- attribute access ---------------------------------------------------------------
    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        getter = getattr(type(self), f"_get_{name}", None)
        if getter is not None:
            return getter(self)
        values = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        if name == "name":  # PythonQt's alias of objectName
            return values["objectName"]
        if any(s.startswith(name + "(") for s in type(self)._signal_signatures()):
            return BoundSignal(self, name)
        raise NotStoodIn(f"{type(self).__name__}.{name} is not stood in by the Slicer harness")

    def __setattr__(self, name: str, value) -> None:
        if name.startswith("_") or name in type(self).__dict__.get("_py_attributes", ()):
            object.__setattr__(self, name, value)
            return
        if name == "name":
            name = "objectName"
        if name not in self._values:
            raise NotStoodIn(
                f"{type(self).__name__} has no property {name!r} (the harness does not accept "
                "attributes Qt does not have)"
            )
        hook = getattr(type(self), f"_set_{name}", None)
        if hook is not None:
            hook(self, value)
        else:
            self._values[name] = value

    def __repr__(self) -> str:
        label = self._values.get("objectName") or hex(id(self))
        return f"<{type(self).__name__} {label}>"

    # -- QObject API ----------------------------------------------------------------------
    def setObjectName(self, name: str) -> None:
        self._values["objectName"] = str(name)

    def parent(self):
        return self._parent

    def setParent(self, parent) -> None:
        if self._parent is not None and self in self._parent._children:
            self._parent._children.remove(self)
        object.__setattr__(self, "_parent", parent)
        if parent is not None:
            parent._children.append(self)

    def children(self) -> list:
        return list(self._children)

    def findChildren(self, cls=None, name: str | None = None) -> list:
        found = []
        for child in self._children:
            if (cls is None or isinstance(child, cls)) and (
                name is None or child.objectName == name
            ):
                found.append(child)
            found += child.findChildren(cls, name)
        return found

    def findChild(self, cls, name: str):
        matches = self.findChildren(cls, name)
        return matches[0] if matches else None

    def property(self, name: str):
        if name in self._values:
            return self._values[name]
        return self._dynamic.get(name)

    def setProperty(self, name: str, value) -> bool:
        if name in self._values:
            setattr(self, name, value)
            return True
        self._dynamic[name] = value
        return False  # Qt returns false for dynamic properties

    def className(self) -> str:
        return type(self).__name__

    def inherits(self, name: str) -> bool:
        return any(k.__name__ == name for k in type(self).__mro__)

    def isWidgetType(self) -> bool:
        return False

    def deleteLater(self) -> None:
        self._deleted = True

    def blockSignals(self, block: bool) -> bool:
        old = self._dynamic.get("__blocked", False)
        self._dynamic["__blocked"] = bool(block)
        return old

    def signalsBlocked(self) -> bool:
        return self._dynamic.get("__blocked", False)

    # -- connections ----------------------------------------------------------------------
    def _check_signal(self, signature: str) -> str:
        signature = normalize(signature)
        if signature not in type(self)._signal_signatures():
            raise SignatureError(
                f"{type(self).__name__} has no signal {signature}; it has "
                f"{sorted(set(type(self)._signal_signatures()))}"
            )
        return signature

    def connect(self, signal: str, slot: Callable | str, receiver=None) -> bool:
        """PythonQt's ``obj.connect("signal(args)", callable)``."""
        signature = self._check_signal(signal)
        if not callable(slot):
            raise SignatureError(f"slot {slot!r} is not callable")
        self._connections.append((signature, slot))
        return True

    def disconnect(self, signal: str, slot: Callable) -> bool:
        signature = self._check_signal(signal)
        for i, (s, f) in enumerate(self._connections):
            if s == signature and (f is slot or f == slot):
                del self._connections[i]
                return True
        return False

    def connections(self) -> list[tuple[str, Callable]]:
        """(signature, slot) pairs connected now (harness inspection)."""
        return list(self._connections)

    def _emit(self, signature: str, *args) -> None:
        """Emit a declared signal with arguments of its declared types (harness side)."""
        signature = self._check_signal(signature)
        types_ = _arg_types(signature)
        if len(args) != len(types_):
            raise SignatureError(f"{signature} takes {len(types_)} arguments, got {len(args)}")
        for qt_type, value in zip(types_, args, strict=True):
            check_argument(qt_type, value)
        if self.signalsBlocked():
            return
        for s, slot in list(self._connections):
            if s != signature:
                continue
            n = _accepted(slot, len(args))
            try:
                slot(*args[:n])
            except Exception as error:  # PythonQt prints the traceback and carries on
                text = traceback.format_exc()
                print(text, file=sys.stderr)
                SLOT_ERRORS.append((f"{self!r} {signature}", error, text))

    def _emit_all(self, name: str, by_type: dict[str, Any]) -> None:
        """Emit every overload of signal ``name``; ``by_type`` maps argument types to values."""
        for signature in type(self)._signal_signatures():
            if signature.startswith(name + "("):
                self._emit(signature, *[by_type[t] for t in _arg_types(signature)])
