"""Renderings of the evidence packet: JSON, the Markdown note, the HTML page, the terminal view."""

from investigator.models import EvidencePacket


def to_json(packet: EvidencePacket, *, indent: int | None = 2) -> str:
    """The packet as JSON (the model is the format)."""
    return packet.model_dump_json(indent=indent)
