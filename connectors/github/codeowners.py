"""A CODEOWNERS parser: gitignore-style patterns, the last matching rule wins.

Follows GitHub's "About code owners": ``*`` matches everything, ``*.ext`` matches by file
name anywhere, a leading ``/`` anchors to the repository root (so does a ``/`` inside the
pattern), a trailing ``/`` means a directory and everything under it, ``dir/*`` matches only
files directly in ``dir``, ``**`` matches across directories, and a rule without owners
makes its paths unowned.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

# Where GitHub looks for the file, in the order it looks.
CODEOWNERS_PATHS: tuple[str, ...] = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")


@dataclass(frozen=True)
class Rule:
    """One CODEOWNERS line: a pattern, its compiled form and its owners."""

    pattern: str
    regex: re.Pattern[str]
    owners: tuple[str, ...]


def _translate(body: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        if body.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif body.startswith("**", i):
            out.append(".*")
            i += 2
        elif body[i] == "*":
            out.append("[^/]*")
            i += 1
        elif body[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(body[i]))
            i += 1
    return "".join(out)


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The regular expression a CODEOWNERS pattern matches repository paths with."""
    anchored = pattern.startswith("/") or "/" in pattern.strip("/")
    body = pattern.strip("/")
    directory_only = pattern.endswith("/") and body != ""
    if body in ("", "*", "**"):
        return re.compile(r"^.+$")
    prefix = "^" if anchored else "^(?:.*/)?"
    if directory_only:
        suffix = "/.+$"
    elif body.endswith("/*") or body.endswith("**"):
        suffix = "$"  # dir/* owns direct children only; dir/** already spans the tree
    else:
        suffix = "(?:/.+)?$"  # a file, or a directory and all it holds
    return re.compile(prefix + _translate(body) + suffix)


def _strip_comment(line: str) -> str:
    return re.split(r"(?<!\\)\s#", line, maxsplit=1)[0].strip()


class CodeOwners:
    """Parsed CODEOWNERS rules."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules

    @classmethod
    def parse(cls, text: str) -> CodeOwners:
        """Parse CODEOWNERS text; comment lines, blank lines and inline comments are skipped."""
        rules: list[Rule] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = _strip_comment(line).split()
            if not parts:
                continue
            pattern = parts[0].replace("\\#", "#")
            owners = tuple(p for p in parts[1:] if p.startswith("@") or "@" in p)
            rules.append(Rule(pattern, compile_pattern(pattern), owners))
        return cls(rules)

    def owners_for(self, path: str) -> tuple[str, ...]:
        """Owners of one repository path: those of the last rule that matches it (none: no owners)."""
        clean = path.lstrip("/")
        for rule in reversed(self.rules):
            if rule.regex.match(clean):
                return rule.owners
        return ()

    def owners_for_files(self, paths: list[str]) -> list[str]:
        """Owners of a set of changed files, most files owned first (ties: first seen)."""
        counts: Counter[str] = Counter()
        order: dict[str, int] = {}
        for path in paths:
            for owner in self.owners_for(path):
                counts[owner] += 1
                order.setdefault(owner, len(order))
        return sorted(counts, key=lambda o: (-counts[o], order[o]))
