"""Every GraphQL document the Linear connector sends is valid against Linear's published schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import GraphQLSchema, build_schema, parse, validate

from connectors.linear.client import QUERIES_DIR

DOCUMENTS = sorted(QUERIES_DIR.glob("*.graphql"))


@pytest.fixture(scope="module")
def linear_contract_schema(contracts_dir: Path) -> GraphQLSchema:
    return build_schema((contracts_dir / "linear" / "schema.graphql").read_text(encoding="utf-8"))


def test_the_connector_ships_its_documents() -> None:
    names = {p.stem for p in DOCUMENTS}
    assert {"KnownIssueCandidates", "IssueById", "IssueCreate", "CommentCreate", "TeamsByName"} <= names


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.stem)
def test_document_validates_against_the_linear_schema(document: Path, linear_contract_schema: GraphQLSchema) -> None:
    errors = validate(linear_contract_schema, parse(document.read_text(encoding="utf-8")))
    assert errors == []


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.stem)
def test_document_defines_one_operation_named_like_its_file(document: Path) -> None:
    ast = parse(document.read_text(encoding="utf-8"))
    operations = [d for d in ast.definitions if d.kind == "operation_definition"]
    assert len(operations) == 1 and operations[0].name is not None  # type: ignore[attr-defined]
    assert operations[0].name.value == document.stem  # type: ignore[attr-defined]


def test_the_stand_in_schema_is_a_byte_identical_copy_of_the_contract(contracts_dir: Path, repo_root: Path) -> None:
    copy = repo_root / "investigator" / "sandbox" / "contracts" / "linear_schema.graphql"
    assert copy.read_bytes() == (contracts_dir / "linear" / "schema.graphql").read_bytes()
