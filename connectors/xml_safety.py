"""Reading XML that came from outside the hub without trusting it.

A document from a partner (or from anyone who can reach a simulator) may carry
a DOCTYPE with entities (billion laughs, external entity reads) or be huge.
These helpers parse with entity resolution, network access and DTD loading
off, and refuse any document that declares a DOCTYPE at all: no SOAP message
needs one (SOAP 1.1 section 3 forbids it).
"""

from __future__ import annotations

import threading

from lxml import etree


class UnsafeXml(ValueError):
    """The document declares a DOCTYPE or entities; it is refused unread."""


_local = threading.local()  # lxml parsers must not be shared between threads


def hardened_parser() -> etree.XMLParser:
    """This thread's parser: no entity expansion, no network, no DTD, no huge trees, no comments."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
        _local.parser = parser
    return parser


def parse_untrusted(document: bytes) -> etree._Element:
    """Parse ``document`` and return its root element.

    Raises ``lxml.etree.XMLSyntaxError`` when it is not well-formed XML and
    ``UnsafeXml`` when it declares a DOCTYPE (with or without entities).
    """
    root = etree.fromstring(document, parser=hardened_parser())
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafeXml("XML documents with a DOCTYPE are refused")
    return root
