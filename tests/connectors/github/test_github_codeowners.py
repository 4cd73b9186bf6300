"""CODEOWNERS parsing: gitignore-style patterns, the last matching rule wins."""

from __future__ import annotations

import pytest

from connectors.github.codeowners import CodeOwners

GITHUB_DOCS_EXAMPLE = """
# Lines starting with '#' are comments.
*       @global-owner1 @global-owner2
*.js    @js-owner  # inline comment
*.go docs@example.com
/build/logs/ @doctocat
docs/*  docs@example.com
apps/ @octocat
/docs/ @doctocat
/scripts/ @doctocat @octocat
**/logs @octocat
/apps/github
"""


@pytest.fixture
def owners() -> CodeOwners:
    return CodeOwners.parse(GITHUB_DOCS_EXAMPLE)


def test_star_owns_everything_not_matched_later(owners: CodeOwners) -> None:
    assert owners.owners_for("README.md") == ("@global-owner1", "@global-owner2")


def test_extension_pattern_matches_at_any_depth_and_strips_inline_comment(owners: CodeOwners) -> None:
    assert owners.owners_for("src/web/app.js") == ("@js-owner",)


def test_email_owners_are_kept(owners: CodeOwners) -> None:
    assert owners.owners_for("cmd/main.go") == ("docs@example.com",)


def test_rooted_directory_owns_everything_below_it(owners: CodeOwners) -> None:
    assert owners.owners_for("build/logs/2026/today.txt") == ("@octocat",)  # **/logs comes later and wins
    assert owners.owners_for("scripts/deploy/run.sh") == ("@doctocat", "@octocat")


def test_dir_star_owns_direct_children_only(owners: CodeOwners) -> None:
    # /docs/ (later) owns all of docs; without it docs/* would own only direct children.
    only_star = CodeOwners.parse("* @all\ndocs/* @docs")
    assert only_star.owners_for("docs/getting-started.md") == ("@docs",)
    assert only_star.owners_for("docs/build-app/troubleshooting.md") == ("@all",)
    assert owners.owners_for("docs/build-app/troubleshooting.md") == ("@doctocat",)


def test_unrooted_directory_matches_anywhere(owners: CodeOwners) -> None:
    assert owners.owners_for("services/apps/thing.py") == ("@octocat",)


def test_rule_without_owners_unowns_its_paths(owners: CodeOwners) -> None:
    assert owners.owners_for("apps/github/main.py") == ()
    assert owners.owners_for("apps/other/main.py") == ("@octocat",)


def test_double_star_suffix_owns_the_whole_tree() -> None:
    rules = CodeOwners.parse("* @all\nbilling/** @billing")
    assert rules.owners_for("billing/invoices/totals.py") == ("@billing",)
    assert rules.owners_for("billing.py") == ("@all",)


def test_last_matching_pattern_wins_over_an_earlier_more_specific_one() -> None:
    rules = CodeOwners.parse("/billing/invoices/ @invoices\n*.py @python")
    assert rules.owners_for("billing/invoices/totals.py") == ("@python",)


def test_rooted_file_pattern_does_not_match_deeper() -> None:
    rules = CodeOwners.parse("/Makefile @build")
    assert rules.owners_for("Makefile") == ("@build",)
    assert rules.owners_for("sub/Makefile") == ()


def test_no_rules_means_no_owners() -> None:
    assert CodeOwners.parse("# only a comment\n\n").owners_for("a.py") == ()


def test_owners_for_files_ranks_by_files_owned() -> None:
    rules = CodeOwners.parse("* @acme-hq/billing\n/tests/ @acme-hq/qa\n/billing/invoices/ @acme-hq/billing")
    files = ["billing/invoices/totals.py", "billing/invoices/money.py", "tests/invoices/test_totals.py"]
    assert rules.owners_for_files(files) == ["@acme-hq/billing", "@acme-hq/qa"]


def test_deploy_regression_codeowners_suggests_billing() -> None:
    text = "# Billing service\n*                    @acme-hq/billing\n/billing/invoices/   @acme-hq/billing\n"
    assert CodeOwners.parse(text).owners_for_files(["billing/invoices/totals.py", "README.md"]) == ["@acme-hq/billing"]
