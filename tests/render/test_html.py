"""The agents' page: recommendation first, every checklist question with its evidence and links,
everything escaped; rendered in headless Chromium with a screenshot kept under artifacts/."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from investigator.models import Citation, Finding
from investigator.render.html import render_page
from tests.api.packets import escalated, packet, ticket

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def sample():  # type: ignore[no-untyped-def]
    evidence = Finding(
        source="clickhouse",
        kind="telemetry_summary",
        summary="Error rate 34% on POST /v1/events",
        citations=[
            Citation(label="otel_traces query", query="SELECT 1 WHERE x < 2"),
            Citation(label="Grafana panel", url="https://grafana.test/d/abc?x=1&y=2"),
            Citation(label="evil", url="javascript:alert(1)"),
        ],
    )
    t = ticket("T-42", subject='<script>alert("x")</script> Events rejected')
    return escalated(packet("inv_page_demo_0000001", t, [evidence]))


def test_the_page_puts_the_recommendation_before_the_checklist() -> None:
    page = render_page(sample())
    assert page.index("id=recommendation") < page.index("id=checklist") < page.index("id=sources")
    assert "escalate" in page[page.index("id=recommendation") : page.index("id=checklist")]


def test_every_checklist_question_is_on_the_page() -> None:
    p = sample()
    page = render_page(p)
    assert len(p.checklist) == 6
    for item in p.checklist:
        assert item.question in page


def test_everything_is_escaped_and_only_http_links_are_links() -> None:
    page = render_page(sample())
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert 'href="https://grafana.test/d/abc?x=1&amp;y=2"' in page
    assert "javascript:" not in page.split("evil")[0][-200:] and 'href="javascript' not in page
    assert "SELECT 1 WHERE x &lt; 2" in page


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.integration
def test_the_page_renders_in_headless_chromium_with_the_recommendation_first(tmp_path: Path) -> None:
    binary = _chromium()
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    html = tmp_path / "page.html"
    html.write_text(render_page(sample()), encoding="utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "investigation-page.png"
    shot.unlink(missing_ok=True)
    flags = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--hide-scrollbars",
    ]

    subprocess.run(
        [*flags, f"--screenshot={shot}", "--window-size=1366,900", html.as_uri()],
        check=True,
        capture_output=True,
        timeout=90,
    )
    dom = subprocess.run(
        [*flags, "--dump-dom", html.as_uri()], check=True, capture_output=True, text=True, timeout=90
    ).stdout

    assert shot.exists() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    assert 'id="recommendation"' in dom and 'id="checklist"' in dom
    assert dom.index('id="recommendation"') < dom.index('id="checklist"')
    assert "<script>" not in dom.split("<body>", 1)[1]
