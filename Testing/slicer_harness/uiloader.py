"""``QUiLoader.load``: a Qt Designer ``.ui`` file → the harness's widget objects.

Reads the real XML: every ``<widget class=...>`` must be a class the harness stands in for,
every ``<property>`` must be a property of that class (``stdset="0"`` ones become dynamic
properties, as ``SlicerParameterName``), layouts nest as written, and each
``<connection>`` connects a declared signal to a declared slot with the same signature.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from .qobject import NotStoodIn, SignatureError, _arg_types, normalize


def _classes() -> dict[str, type]:
    from .ctkwidgets import CTK_CLASSES, QMRML_CLASSES
    from .qtwidgets import QT_CLASSES

    return {c.__name__: c for c in [*QT_CLASSES, *CTK_CLASSES, *QMRML_CLASSES]}


def _value(prop: ET.Element):
    child = next(iter(prop))
    tag, text = child.tag, child.text or ""
    if tag == "string":
        return text
    if tag == "bool":
        return text.strip() == "true"
    if tag == "number":
        return int(text)
    if tag == "double":
        return float(text)
    if tag == "stringlist":
        return [s.text or "" for s in child.findall("string")]
    if tag in ("enum", "set"):
        return text
    if tag == "size":
        return (int(child.findtext("width")), int(child.findtext("height")))
    raise NotStoodIn(f"property type <{tag}> is not stood in by the harness .ui loader")


def _make_widget(element: ET.Element, classes: dict[str, type], parent, names: dict):
    class_name = element.get("class")
    cls = classes.get(class_name)
    if cls is None:
        raise NotStoodIn(f".ui widget class {class_name} is not stood in by the harness")
    widget = cls(parent)
    widget.objectName = element.get("name", "")
    names[widget.objectName] = widget
    for prop in element.findall("property"):
        name, value = prop.get("name"), _value(prop)
        if prop.get("stdset") == "0":
            widget.setProperty(name, value)
        elif name not in type(widget)._declared_properties():
            raise NotStoodIn(f"{class_name} has no property {name!r} (in the .ui)")
        else:
            setattr(widget, name, value)
    layout = element.find("layout")
    if layout is not None:
        widget.setLayout(_make_layout(layout, classes, widget, names))
    for child in element.findall("widget"):  # children without a layout (rare)
        _make_widget(child, classes, widget, names)
    return widget


def _make_layout(element: ET.Element, classes: dict[str, type], owner, names: dict):
    cls = classes.get(element.get("class"))
    if cls is None:
        raise NotStoodIn(f".ui layout class {element.get('class')} is not stood in")
    layout = cls()
    layout.objectName = element.get("name", "")
    names[layout.objectName] = layout
    for item in element.findall("item"):
        child = next(iter(item))
        if child.tag == "widget":
            layout.addWidget(_make_widget(child, classes, None, names))
        elif child.tag == "layout":
            layout.addLayout(_make_layout(child, classes, owner, names))
        elif child.tag == "spacer":
            layout.addStretch()
        else:
            raise NotStoodIn(f".ui layout item <{child.tag}> is not stood in")
    return layout


def _connect(connection: ET.Element, names: dict) -> None:
    sender = names[connection.findtext("sender")]
    receiver = names[connection.findtext("receiver")]
    signal = normalize(connection.findtext("signal"))
    slot = normalize(connection.findtext("slot"))
    if slot not in type(receiver)._slot_signatures():
        raise SignatureError(f"{type(receiver).__name__} has no slot {slot}")
    if _arg_types(signal)[: len(_arg_types(slot))] != _arg_types(slot):
        raise SignatureError(f"signal {signal} does not fit slot {slot}")
    sender.connect(signal, getattr(receiver, slot[: slot.index("(")]))


def load_ui(path: str, parent=None):
    """The top-level widget of ``path`` with its children, layouts and connections."""
    root = ET.parse(path).getroot()
    if root.tag != "ui" or root.get("version") != "4.0":
        raise ValueError(f"{path} is not a Qt Designer 4.0 form")
    classes = _classes()
    names: dict = {}
    top = _make_widget(root.find("widget"), classes, parent, names)
    for connection in root.iter("connection"):
        _connect(connection, names)
    return top
