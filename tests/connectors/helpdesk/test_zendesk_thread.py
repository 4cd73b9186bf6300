"""Reading a Zendesk thread: promises, agent replies, subject similarity."""

from __future__ import annotations

import pytest

from connectors.helpdesk.thread import promises_in, similarity, summarize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Hi Priya, thanks for reaching out - we're looking into this now and will get back to you shortly.",
            ["we're looking into this now and will get back to you shortly"],
        ),
        ("Thanks. We will update you by 3pm UTC. Regards", ["We will update you by 3pm UTC"]),
        ("Engineering gave an ETA of Friday for the fix!", ["Engineering gave an ETA of Friday for the fix"]),
        ("We are investigating the slowdown; more soon", ["We are investigating the slowdown"]),
        ("We\u2019ll keep you posted.", ["We\u2019ll keep you posted"]),
        ("I have escalated this to our engineering team.", ["I have escalated this to our engineering team"]),
        ("Thanks for the screenshot. Could you send the request id?", []),
        ("", []),
    ],
)
def test_promise_clauses_are_quoted_as_written(text: str, expected: list[str]) -> None:
    assert promises_in(text) == expected


def test_only_public_agent_comments_count_as_replies() -> None:
    users = {"1": {"id": 1, "role": "end-user"}, "2": {"id": 2, "role": "agent"}}
    comments = [
        {
            "id": 10,
            "author_id": 1,
            "public": True,
            "body": "We will get back to you? I am the customer",
            "created_at": "2026-01-01T10:00:00Z",
        },
        {
            "id": 11,
            "author_id": 2,
            "public": False,
            "body": "internal: we'll get back to you",
            "created_at": "2026-01-01T11:00:00Z",
        },
        {
            "id": 12,
            "author_id": 2,
            "public": True,
            "plain_body": "Thanks, ETA tomorrow.",
            "created_at": "2026-01-01T12:00:00Z",
        },
    ]
    summary = summarize(comments, users, requester_id=1)
    assert summary.public_replies == 1
    assert summary.acknowledged is True
    assert summary.promises == ["Thanks, ETA tomorrow"]
    assert summary.agent_comment_ids == ["12"]
    assert summary.last_agent_reply_at is not None and summary.last_agent_reply_at.hour == 12


def test_no_agent_reply_means_not_acknowledged() -> None:
    comments = [{"id": 1, "author_id": 5, "public": True, "body": "help", "created_at": "2026-01-01T10:00:00Z"}]
    summary = summarize(comments, {"5": {"role": "end-user"}}, requester_id=5)
    assert (summary.acknowledged, summary.public_replies, summary.last_agent_reply_at) == (False, 0, None)


def test_subject_similarity_is_word_overlap_ignoring_stopwords_and_case() -> None:
    assert similarity("API rejecting our events - 429 errors", "429 errors from the events API") == 0.8
    assert similarity("Invoice address change", "API rejecting our events - 429 errors") == 0.0
    assert similarity("", "anything") == 0.0
