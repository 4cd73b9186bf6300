"""The ``investigator`` command line."""

from __future__ import annotations

import logging
import sys
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from investigator.models import SOURCE_NAMES
from investigator.sandbox.standin import FaultKind

app = typer.Typer(
    help="Investigate support tickets: evidence from telemetry, issues, billing, deploys, the thread.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(width=max(Console().width, 140))


@app.callback()
def _logging(
    log_level: Annotated[
        str, typer.Option(envvar="INVESTIGATOR_LOG_LEVEL", help="log level for stderr (source failures are WARNING)")
    ] = "ERROR",
) -> None:
    """Logs go to stderr; the packet already reports every source failure, so the default is quiet."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


err = Console(stderr=True)


def _faults(values: list[str]) -> dict[str, FaultKind]:
    faults: dict[str, FaultKind] = {}
    for value in values:
        source, _, kind = value.partition("=")
        if source not in SOURCE_NAMES:
            raise typer.BadParameter(f"--fault {value}: source must be one of {', '.join(SOURCE_NAMES)}")
        try:
            faults[source] = FaultKind(kind)
        except ValueError:
            raise typer.BadParameter(
                f"--fault {value}: kind must be one of {', '.join(k.value for k in FaultKind)}"
            ) from None
    return faults


@app.command()
def replay(
    file: Annotated[Path, typer.Argument(help="a scenario YAML file")],
    as_json: Annotated[bool, typer.Option("--json", help="print the packet as JSON")] = False,
    fault: Annotated[list[str], typer.Option(help="SOURCE=KIND (timeout, 5xx, 429, garbage); repeatable")] = [],  # noqa: B006
    latency: Annotated[float, typer.Option(help="milliseconds added to every stand-in response")] = 0.0,
    sequential: Annotated[bool, typer.Option(help="run sources one after another (benchmark baseline)")] = False,
) -> None:
    """Replay a scenario through the real connectors against local stand-ins."""
    from investigator.replay import replay as run_replay
    from investigator.sandbox.scenario import ScenarioError, load_scenario

    try:
        scenario = load_scenario(file)
    except ScenarioError as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    result = run_replay(scenario, faults=_faults(fault), latency_ms=latency, sequential=sequential)
    packet = result.packet.model_copy(update={"deliveries": result.packet.deliveries + result.recorded})
    if as_json:
        sys.stdout.write(packet.model_dump_json(indent=2) + "\n")
        return
    from investigator.render.terminal import print_packet

    print_packet(packet, console)


@app.command("eval")
def evaluate(
    folders: Annotated[list[Path], typer.Argument(help="folders of scenario YAML files")],
) -> None:
    """Replay every scenario in the folders and compare with its expectation."""
    from investigator.replay import evaluate_file
    from investigator.sandbox.scenario import scenario_files

    files = [f for folder in folders for f in scenario_files(folder)]
    if not files:
        err.print(f"[red]no scenario files in {', '.join(map(str, folders))}[/red]")
        raise typer.Exit(2)
    table = Table(show_lines=False)
    for col in ("scenario", "expected", "got", "result", "top reason"):
        table.add_column(col, overflow="fold")
    passed = failed = 0
    for path in files:
        s = evaluate_file(path)
        passed += s.passed
        failed += not s.passed
        verdict = "[green]pass[/green]" if s.passed else "[red]FAIL[/red]: " + "; ".join(s.problems)
        table.add_row(s.name, s.expected, s.got, verdict, s.top_reason[:160])
    console.print(table)
    print(f"{passed} passed, {failed} failed", flush=True)
    if failed:
        raise typer.Exit(1)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="where to write the HTML page and the JSON")] = Path("artifacts/demo"),
) -> None:
    """Replay a bundled scenario end to end and show the evidence packet."""
    from investigator.replay import replay as run_replay
    from investigator.sandbox.scenario import load_scenario

    bundled = resources.files("investigator.sandbox").joinpath("scenarios/deploy-regression.yaml")
    with resources.as_file(bundled) as path:
        scenario = load_scenario(path)
    console.print(f"[bold]Demo:[/bold] {scenario.summary}\n")
    result = run_replay(scenario)
    from investigator.render.terminal import print_packet

    packet = result.packet.model_copy(update={"deliveries": result.packet.deliveries + result.recorded})
    print_packet(packet, console)
    out.mkdir(parents=True, exist_ok=True)
    (out / "packet.json").write_text(packet.model_dump_json(indent=2), encoding="utf-8")
    try:
        from investigator.render.html import render_page

        (out / "page.html").write_text(render_page(packet), encoding="utf-8")
        console.print(f"\nHTML page: {out / 'page.html'}")
    except ImportError:
        console.print("\nHTML page: not available in this build")
    console.print(f"JSON: {out / 'packet.json'}")


@app.command()
def investigate(
    ticket_file: Annotated[Path, typer.Argument(help="a ticket as JSON (the generic webhook format)")],
    as_json: Annotated[bool, typer.Option("--json", help="print the packet as JSON")] = False,
) -> None:
    """Investigate one ticket with the real connectors configured in the environment."""
    from investigator.config import Settings
    from investigator.intake import ADAPTERS
    from investigator.pipeline import investigate as run
    from investigator.policy.engine import decider
    from investigator.registry import build_connectors, pipeline_options

    settings = Settings()
    ticket = ADAPTERS["generic"].parse(ticket_file.read_bytes()).ticket
    connectors = build_connectors(settings)
    engine = decider(
        {k: v.team for k, v in settings.services.items() if v.team},
        settings.compliance_critical_events,
        str(settings.policy_file) if settings.policy_file else None,
    )
    packet = run(ticket, connectors, pipeline_options(settings), decide=engine.decide)
    if as_json:
        sys.stdout.write(packet.model_dump_json(indent=2) + "\n")
    else:
        from investigator.render.terminal import print_packet

        print_packet(packet, console)


@app.command()
def check() -> None:
    """Check each configured source: settings present and upstream reachable."""
    from investigator.config import Settings
    from investigator.registry import build_connectors

    settings = Settings()
    table = Table(title="Sources")
    for col in ("source", "configured", "reachable", "missing", "detail"):
        table.add_column(col)
    bad = 0
    for name, connector in build_connectors(settings).items():
        result = connector.check()
        bad += not result.ok
        reach = "-" if result.reachable is None else ("yes" if result.reachable else "NO")
        table.add_row(name, "yes" if result.configured else "NO", reach, ", ".join(result.missing), result.detail)
    console.print(table)
    shown = settings.public_settings()
    console.print({k: shown[k] for k in ("redis_url", "generic_webhook_secret", "zendesk_webhook_secret", "api_token")})
    if bad:
        err.print(f"[red]{bad} source(s) not ready[/red]")
        raise typer.Exit(1)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
) -> None:
    """Run the HTTP service (webhook intake and read API)."""
    try:
        from investigator.api.app import run_server
    except ImportError:
        err.print("serve: the HTTP service is not built yet")
        raise typer.Exit(2) from None
    run_server(host=host, port=port)


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="worker threads")] = 8,
) -> None:
    """Run a Celery worker for investigations."""
    try:
        from tasks.app import run_worker
    except ImportError:
        err.print("worker: the Celery tasks are not built yet")
        raise typer.Exit(2) from None
    run_worker(concurrency=concurrency)


@app.command()
def bench(quick: Annotated[bool, typer.Option(help="a one-minute run")] = False) -> None:
    """Benchmarks: fan-out rounds, intake, workers, ClickHouse."""
    try:
        from bench.run import main as run_bench
    except ImportError:
        err.print("bench: not built yet")
        raise typer.Exit(2) from None
    run_bench(quick=quick)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
