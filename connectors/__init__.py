"""Evidence-source connectors, one package per source."""
