"""Reading a SOAP agency's answer with lxml, against the element shapes its WSDL declares.

zeep reads the WSDL and writes the requests (envelope, WS-Security header); reading an answer
through zeep's object graph costs several times the parse itself, so answers are read here:

- the answer is parsed by ``xml_safety.parse_untrusted`` (size limit first, no DOCTYPE, no entities,
  no network);
- a SOAP 1.1 fault in the body becomes :class:`SoapFault` (its ``faultcode`` and ``faultstring``);
- otherwise the body must hold the operation's response element, read into plain dicts by an
  :class:`Shape` compiled once per operation from zeep's parsed schema: child elements in the
  declared order and number (anything else is :class:`Unexpected`, as zeep's strict mode says),
  leaf values converted by the schema type's own ``pythonvalue`` (xs:long to ``int``, xs:dateTime to
  ``datetime``; a value that does not convert is ``None``, as zeep reads it, and the caller's field
  checks refuse it).

A record maps each child's local name to its value; a repeatable child maps to a list. A
missing element is absent from the record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree
from zeep.xsd.types.builtins import String
from zeep.xsd.types.complex import ComplexType
from zeep.xsd.types.simple import AnySimpleType

from connectors.wire import SOAP_ENV_NS
from connectors.xml_safety import parse_untrusted

Record = dict[str, Any]

_ENVELOPE = f"{{{SOAP_ENV_NS}}}Envelope"
_BODY = f"{{{SOAP_ENV_NS}}}Body"
_FAULT = f"{{{SOAP_ENV_NS}}}Fault"


class Unexpected(ValueError):
    """An element the schema does not allow where it stands (or one too many)."""


class NotSoap(ValueError):
    """Well-formed XML, but not a SOAP 1.1 envelope with a body."""


class SoapFault(Exception):
    """The agency answered with a SOAP fault."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Shape:
    """One element of the schema: its name, how often it may occur, and its children or its leaf reader."""

    name: str  # local name: the key in the parent's record
    repeated: bool  # maxOccurs > 1 (or unbounded): the record holds a list
    max_occurs: int | None  # None: unbounded
    children: Mapping[str, tuple[int, Shape]] | None = None  # by Clark name: (position in the sequence, shape)
    convert: Callable[[str], Any] | None = None  # leaf: text -> value; None keeps the text


def compile_shape(element: Any) -> Shape:
    """The shape of a zeep schema ``Element`` (a sequence of elements, nested to leaves of simple type)."""
    max_occurs = None if element.max_occurs == "unbounded" else int(element.max_occurs)
    repeated = max_occurs is None or max_occurs > 1
    xsd_type = element.type
    if isinstance(xsd_type, ComplexType):
        children = {}
        for position, (_, child) in enumerate(xsd_type.elements):
            children[etree.QName(child.qname).text] = (position, compile_shape(child))
        return Shape(element.name, repeated, max_occurs, children=children)
    if not isinstance(xsd_type, AnySimpleType):
        raise ValueError(f"element {element.name!r} has a type this reader does not know: {xsd_type!r}")
    convert = None if isinstance(xsd_type, String) else xsd_type.pythonvalue
    return Shape(element.name, repeated, max_occurs, convert=convert)


def read_record(node: etree._Element, shape: Shape) -> Record:
    """The children of ``node`` as a record, checked against ``shape``'s sequence."""
    children = shape.children
    assert children is not None
    record: Record = {}
    position = 0
    for child in node.iterchildren(etree.Element):  # elements only (the parser drops comments and PIs anyway)
        entry = children.get(child.tag)
        if entry is None or entry[0] < position:
            raise Unexpected(f"Unexpected element {etree.QName(child.tag).localname!r} in {shape.name!r}")
        position, sub = entry
        value: Any
        if sub.children is not None:
            value = read_record(child, sub)
        else:  # a leaf, inline: most elements are
            value = child.text
            if value is not None and sub.convert is not None:
                try:
                    value = sub.convert(value)
                except (TypeError, ValueError):  # as zeep reads it: no value; the caller's field check says which
                    value = None
        name = sub.name
        if sub.repeated:
            values = record.get(name)
            if values is None:
                values = record[name] = []
            elif sub.max_occurs is not None and len(values) >= sub.max_occurs:
                raise Unexpected(f"Unexpected element {name!r}: more than {sub.max_occurs} in {shape.name!r}")
            values.append(value)
        elif name in record:
            raise Unexpected(f"Unexpected element {name!r}: a second one in {shape.name!r}")
        else:
            record[name] = value
    return record


def read_reply(content: bytes, *, max_bytes: int, response: Shape, response_tag: str) -> Record:
    """The response element of a SOAP answer as a record.

    Raises ``lxml.etree.XMLSyntaxError`` (not XML), ``xml_safety.UnsafeXml`` (DOCTYPE, too large),
    ``NotSoap``, ``SoapFault`` or ``Unexpected``.
    """
    root = parse_untrusted(content, max_bytes=max_bytes)
    if root.tag != _ENVELOPE:
        raise NotSoap(f"the answer is not a SOAP 1.1 envelope: {etree.QName(root.tag).localname!r}")
    body = root.find(_BODY)
    if body is None:
        raise NotSoap("the answer's envelope has no Body")
    elements = list(body.iterchildren(etree.Element))
    if len(elements) != 1:
        raise NotSoap(f"the answer's Body holds {len(elements)} elements instead of one")
    (element,) = elements
    if element.tag == _FAULT:
        raise SoapFault((element.findtext("faultcode") or "").strip(), element.findtext("faultstring") or "")
    if element.tag != response_tag:
        raise Unexpected(f"Unexpected element {element.tag!r} in the Body, expected {response_tag!r}")
    return read_record(element, response)


__all__ = ["NotSoap", "Record", "Shape", "SoapFault", "Unexpected", "compile_shape", "read_record", "read_reply"]
