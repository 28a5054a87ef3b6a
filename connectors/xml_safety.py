"""Reading XML that came from outside the hub without trusting it.

A document from a partner (or from anyone who can reach a simulator) may carry
a DOCTYPE with entities (billion laughs, external entity reads) or be huge.
These helpers parse with entity resolution, network access and DTD loading
off, and refuse any document that declares a DOCTYPE at all: no SOAP message
needs one (SOAP 1.1 section 3 forbids it). Documents above ``MAX_DOCUMENT_BYTES``
are refused unread, before any parsing: a batch answer for the largest batch a
contract allows is far below it.
"""

from __future__ import annotations

import threading

from lxml import etree

#: The largest XML document (request or answer) the hub or a simulator reads: 8 MiB.
MAX_DOCUMENT_BYTES = 8 * 1024 * 1024


class UnsafeXml(ValueError):
    """The document declares a DOCTYPE or entities; it is refused unread."""


class DocumentTooLarge(UnsafeXml):
    """The document is larger than the limit; it is refused before parsing."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"XML document of {size} bytes exceeds the limit of {limit} bytes")
        self.size = size
        self.limit = limit


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


def check_size(size: int, limit: int = MAX_DOCUMENT_BYTES) -> None:
    """Refuse a document of ``size`` bytes when it is above ``limit`` (``DocumentTooLarge``)."""
    if size > limit:
        raise DocumentTooLarge(size, limit)


def parse_untrusted(document: bytes, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> etree._Element:
    """Parse ``document`` and return its root element.

    Raises ``lxml.etree.XMLSyntaxError`` when it is not well-formed XML,
    ``DocumentTooLarge`` when it is above ``max_bytes`` and ``UnsafeXml`` when it
    declares a DOCTYPE (with or without entities).
    """
    check_size(len(document), max_bytes)
    root = etree.fromstring(document, parser=hardened_parser())
    docinfo = root.getroottree().docinfo
    doctype: str = docinfo.doctype  # type: ignore[union-attr]  # lxml-stubs 0.5 lacks DocInfo.doctype
    if doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafeXml("XML documents with a DOCTYPE are refused")
    return root
