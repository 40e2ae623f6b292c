"""The ``lamina`` command: argument parsing, dispatch, and turning errors into exit codes.

Exit codes: 0 success; 1 the request failed (an API error, a function error, a failed deploy);
2 a bad command line or no Lamina to talk to; 130 stopped with Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import threading
from pathlib import Path
from typing import Callable, Mapping, Sequence

from lamina import __version__
from lamina.cli.apis import list_apis
from lamina.cli.concurrency import provision
from lamina.cli.info import show_info
from lamina.cli.init import RUNTIMES as INIT_RUNTIMES
from lamina.cli.init import TRIGGERS, init
from lamina.identity.signing import Credentials
from lamina.cli.client import DEFAULT_ENDPOINT, LambdaClient
from lamina.cli.deploy import deploy
from lamina.cli.errors import CliError, ExitCode, UsageError
from lamina.cli.events import put_event, show_rules
from lamina.cli.queues import show_queues
from lamina.cli.runtimes import show_runtimes
from lamina.cli.generate import KINDS, generate, parse_overrides
from lamina.cli.generate import describe as describe_kinds
from lamina.cli.functions import delete_function, list_functions
from lamina.cli.invoke import invoke, load_payload
from lamina.cli.iot import show_iot_rules
from lamina.cli.queue import delete_outbox, show_outbox, show_queue
from lamina.cli.schedules import list_schedules
from lamina.cli.dev import DebugRequest, develop
from lamina.cli.logs import Since, show_logs, since_value
from lamina.cli.usage import Operator, operator_of, show_stats, show_usage
from lamina.metering.performance import SORTS
from lamina.cli.mappings import list_mappings
from lamina.cli.output import Console
from lamina.cli.progress import Progress
from lamina.cli.shapes import FunctionSpec
from lamina.cli.template import find_template, read_template
from lamina.settings import Settings

ENDPOINT_VARIABLE = "LAMINA_ENDPOINT"

EXAMPLES = """\
examples:
  lamina server
  lamina init hello --runtime python3.12
  lamina deploy ./hello --name hello --runtime python3.12 --handler app.handler
  lamina invoke hello --payload '{"name": "world"}'
  lamina info hello
  lamina event generate sqs --body=hi > event.json
  lamina logs hello --follow
  lamina usage --by tag:team --from 2026-12-01 --to 2026-12-07
  lamina stats --from 2026-12-01
  lamina usage --all-accounts --from 2026-11-30 --to 2026-12-06
  lamina ls
  lamina apis
  lamina runtimes
  lamina rm hello
"""


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse already explained
        return exc.code if isinstance(exc.code, int) else ExitCode.USAGE
    console = Console(json_mode=args.json)
    try:
        return int(_COMMANDS[args.command](args, console, env))
    except CliError as exc:
        console.warn(f"lamina: {exc.message}")
        return exc.exit_code
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lamina",
        description="Run and manage Lambda functions on a self-hosted Lamina server.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # The same two options are accepted after the command too; SUPPRESS keeps a command's
    # parser from overwriting a value given before the command with its own default.
    _add_client_options(parser, endpoint_default=None, json_default=False)
    parser.add_argument("--version", action="version", version=f"lamina {__version__}")
    client_options = argparse.ArgumentParser(add_help=False)
    _add_client_options(client_options, endpoint_default=argparse.SUPPRESS, json_default=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    server = commands.add_parser("server", help="run the Lamina server (blocks until stopped)")
    server.add_argument("--host", help="address to listen on (default 127.0.0.1, or LAMINA_HOST)")
    server.add_argument("--port", type=int, help="port to listen on (default 9000, or LAMINA_PORT)")
    server.add_argument("--tls-port", type=int, metavar="PORT",
                        help="also serve HTTPS on PORT (0: any free port; default LAMINA_TLS_PORT, else none)")
    server.add_argument("--data-dir", type=Path, help="where state and code live (default .lamina)")

    init_ = commands.add_parser("init", parents=[client_options],
                                help="start a new function: a handler, a test, a sample event and a template.yaml")  # fmt: skip
    init_.add_argument("directory", metavar="DIR", type=Path, nargs="?", default=Path("."),
                       help="where to write it (made if missing; default: the current folder)")
    init_.add_argument("--runtime", default="python3.12", metavar="RUNTIME",
                       help=f"one of {', '.join(INIT_RUNTIMES)} (default python3.12)")
    init_.add_argument("--trigger", default="none", choices=TRIGGERS,
                       help="what invokes it: none (direct invokes), http (a function URL), schedule, sqs, s3")
    init_.add_argument("--name", help="the function's name (default: the folder's name)")

    function_options = argparse.ArgumentParser(add_help=False)  # what deploy and dev say of the function
    function_options.add_argument(
        "path", metavar="PATH", type=Path, nargs="?", default=Path("."),
        help="the function's code: a folder, a .zip or .jar, or a template.yaml (or a folder holding one) "
             "whose function names its code folder; default: the current folder",
    )  # fmt: skip
    function_options.add_argument("--name", help="function name (default: the template's FunctionName)")
    function_options.add_argument("--runtime", help="e.g. python3.12; needed to create, kept on update if left out")
    function_options.add_argument("--handler", help="e.g. app.handler (module.function); as --runtime")
    function_options.add_argument("--memory", type=int, metavar="MB", help="memory size in MB")
    function_options.add_argument("--timeout", type=int, metavar="SECONDS", help="timeout in seconds")
    function_options.add_argument(
        "--env", type=env_pair, action="append", metavar="KEY=VALUE", help="environment variable (repeatable)"
    )
    function_options.add_argument("--description", help="free-text description")
    function_options.add_argument("--progress", action="store_true",
                                  help="show upload and wait progress on stderr (shown anyway on a terminal)")
    commands.add_parser("deploy", parents=[client_options, function_options],
                        help="package a folder (or take a .zip, .jar or template.yaml) and create or update a function")  # fmt: skip
    dev = commands.add_parser("dev", parents=[client_options, function_options],
                              help="deploy a folder, then redeploy it on every save (Ctrl-C to stop)")  # fmt: skip
    dev.add_argument("--payload", metavar="JSON|@FILE",
                     help="invoke with this after each deploy and print the answer and the log tail")
    dev.add_argument("--debug", nargs="?", const="attach", choices=("attach", "wait"),
                     help="let a debugger attach (debugpy for Python, --inspect for Node.js); --debug=wait: each "
                          "environment waits for it before it imports the handler")  # fmt: skip
    dev.add_argument("--debug-port", type=int, metavar="PORT",
                     help="where the debugger attaches on 127.0.0.1 (default 5678 for Python, 9229 for Node.js; 0: any free port)")

    invoke_ = commands.add_parser("invoke", parents=[client_options], help="invoke a function")
    invoke_.add_argument("name", metavar="NAME")
    invoke_.add_argument(
        "--payload", metavar="JSON", help="event as JSON, or @file (@- for stdin); default {}"
    )
    invoke_.add_argument("--qualifier", metavar="Q", help="version or alias")
    invoke_.add_argument("--async", dest="asynchronous", action="store_true", help="queue the event (202)")
    invoke_.add_argument("--logs", action="store_true", help="print the invocation's log tail to stderr")

    concurrency = commands.add_parser("concurrency", parents=[client_options],
                                      help="set a version's or alias's provisioned concurrency and wait until it is ready")  # fmt: skip
    concurrency.add_argument("name", metavar="NAME")
    concurrency.add_argument("--qualifier", required=True, metavar="Q", help="a published version or an alias")
    concurrency.add_argument("--provisioned", required=True, type=int, metavar="N",
                             help="environments kept initialized (0 removes the configuration)")
    concurrency.add_argument("--progress", action="store_true",
                             help="show how many are ready on stderr while waiting (shown anyway on a terminal)")
    commands.add_parser("ls", parents=[client_options], help="list functions")
    info = commands.add_parser("info", parents=[client_options],
                               help="one function: configuration, code, state, URL, and how to invoke it")  # fmt: skip
    info.add_argument("name", metavar="NAME")
    commands.add_parser("apis", parents=[client_options], help="list HTTP and REST APIs with their URLs (and HTTP APIs' routes)")

    logs = commands.add_parser("logs", parents=[client_options], help="print a function's logs")
    logs.add_argument("name", metavar="NAME")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing new events until Ctrl-C")
    logs.add_argument("--since", type=since_value, default=Since(), metavar="WHEN",
                      help="only events after this: a duration back from now (30s, 15m, 1h, 2d, 1w), a time "
                           "(2026-01-31T12:00:00, local unless it has an offset), or a cursor (a number)")
    logs.add_argument("--filter", metavar="PATTERN", default="",
                      help="only events a CloudWatch Logs filter pattern matches: ERROR, '?WARN ?ERROR', "
                           "'{ $.level = \"ERROR\" }', ... (docs/logs.md)")

    usage = commands.add_parser("usage", parents=[client_options],
                                help="requests, GB-seconds and their cost, with a totals row (docs/usage.md)")
    usage.add_argument("--by", default="function", metavar="function|day|alias|tag:KEY",
                       help="group by function (default), day (UTC), alias, or a tag's value (tag:team)")
    usage.add_argument("--from", dest="start", metavar="DATE|TIME",
                       help="from this date (2026-12-01, UTC) or time (2026-12-01T08:00:00Z); default: this month")
    usage.add_argument("--to", dest="end", metavar="DATE|TIME",
                       help="to this date (included) or time (excluded); default: now")
    usage.add_argument("--csv", action="store_true", help="print the table as CSV")
    _add_operator_options(usage)

    stats = commands.add_parser("stats", parents=[client_options],
                                help="each function's invocations, errors, cold starts and duration percentiles, "
                                     "the slowest first (docs/usage.md)")  # fmt: skip
    stats.add_argument("--from", dest="start", metavar="DATE|TIME",
                       help="from this date (2026-12-01, UTC) or time (2026-12-01T08:00:00Z); default: this month")
    stats.add_argument("--to", dest="end", metavar="DATE|TIME",
                       help="to this date (included) or time (excluded); default: now")
    stats.add_argument("--sort", default="p99", choices=SORTS, help="the largest of which first (default: p99)")
    stats.add_argument("--csv", action="store_true", help="print the table as CSV")
    _add_operator_options(stats)
    commands.add_parser("queue", parents=[client_options], help="show the asynchronous-invocation queue")

    commands.add_parser("schedules", parents=[client_options], help="list EventBridge Scheduler schedules")
    commands.add_parser("mappings", parents=[client_options],
                        help="list event source mappings with their state, last result and lag")  # fmt: skip

    outbox = commands.add_parser(
        "outbox", parents=[client_options],
        help="show dead letters and destination records waiting for SQS, SNS, EventBridge or S3 targets",
    )  # fmt: skip
    outbox.add_argument("--target", metavar="ARN", help="only the messages for this target")
    outbox.add_argument("--delete", type=int, nargs="+", metavar="ID", help="remove these messages")

    commands.add_parser("runtimes", parents=[client_options],
                        help="list Lambda's runtimes: what the server runs each on, or how to install it")  # fmt: skip

    commands.add_parser("queues", parents=[client_options],
                        help="list SQS queues with their messages: visible, in flight, delayed")  # fmt: skip

    commands.add_parser("rules", parents=[client_options],
                        help="list event buses' rules: pattern or schedule, state, targets")  # fmt: skip

    iot = commands.add_parser("iot", parents=[client_options], help="AWS IoT topic rules and the MQTT broker")
    iot_commands = iot.add_subparsers(dest="iot_command", metavar="SUBCOMMAND", required=True)
    iot_commands.add_parser("rules", parents=[client_options],
                            help="list topic rules (topic filter, target, state) and the broker's connection")  # fmt: skip

    events = commands.add_parser("events", aliases=["event"], parents=[client_options],
                                 help="put an event on an event bus; generate a sample event of any trigger")  # fmt: skip
    events_commands = events.add_subparsers(dest="events_command", metavar="SUBCOMMAND", required=True)
    put = events_commands.add_parser("put", parents=[client_options], help="put one event (PutEvents)")
    put.add_argument("--source", required=True, help="the event's source, e.g. com.example.shop")
    put.add_argument("--detail-type", required=True, help="the event's detail-type, e.g. OrderPlaced")
    put.add_argument("--detail", required=True, metavar="JSON", help="the event's detail: a JSON object")
    put.add_argument("--bus", metavar="NAME", help="event bus name or ARN (default: default)")
    generate_ = events_commands.add_parser(
        "generate", help="print a sample event, AWS's own with fresh ids and times",
        description="Print a sample event of a trigger, as AWS delivers it to a function (AWS's own samples, "
                    "one record, fresh ids and times). Change any value with --NAME=VALUE (the names below) "
                    "or --PATH=VALUE (a path into the event: --Records.0.awsRegion=eu-west-1).",
        epilog="kinds:\n" + "\n".join(describe_kinds()) + "\n\nexample:\n  lamina event generate s3 --bucket=photos "
               "--key=cat.jpg > event.json\n  lamina invoke NAME --payload @event.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    generate_.add_argument("kind", metavar="KIND", choices=KINDS, help=", ".join(KINDS))
    generate_.add_argument("overrides", nargs=argparse.REMAINDER, metavar="--NAME=VALUE", help="values to change")

    rm = commands.add_parser("rm", parents=[client_options], help="delete a function")
    rm.add_argument("name", metavar="NAME")
    return parser


def env_pair(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` from ``--env``; the value may itself contain ``=``."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def server_settings(args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    return Settings.from_env(environ, host=args.host, port=args.port, data_dir=args.data_dir,
                              tls_port=args.tls_port)  # fmt: skip


def default_endpoint(environ: Mapping[str, str]) -> str:
    return environ.get(ENDPOINT_VARIABLE) or DEFAULT_ENDPOINT


def endpoint_of(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    return str(args.endpoint or default_endpoint(environ))


def _add_client_options(
    parser: argparse.ArgumentParser, *, endpoint_default: object, json_default: object
) -> None:
    parser.add_argument(
        "--endpoint",
        metavar="URL",
        default=endpoint_default,
        help=f"Lamina's address (default ${ENDPOINT_VARIABLE}, else {DEFAULT_ENDPOINT})",
    )
    parser.add_argument("--json", action="store_true", default=json_default, help="print JSON for scripts")


def _client(args: argparse.Namespace, environ: Mapping[str, str]) -> LambdaClient:
    return LambdaClient(endpoint_of(args, environ), credentials=credentials_of(environ), region=_region(environ))


def _region(environ: Mapping[str, str]) -> str:
    return environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def credentials_of(environ: Mapping[str, str]) -> Credentials:
    """What the client signs with: the AWS SDKs' variables, else the development pair test/test."""
    key_id, secret = environ.get("AWS_ACCESS_KEY_ID"), environ.get("AWS_SECRET_ACCESS_KEY")
    if key_id and secret:
        return Credentials(key_id, secret, environ.get("AWS_SESSION_TOKEN") or None)
    return Credentials("test", "test")


def _server(args: argparse.Namespace, console: Console, environ: Mapping[str, str]) -> int:
    # Imported only here: the server brings in aiohttp and the whole platform, which the client
    # commands never need and should not wait for.
    from lamina.datalock import DataDirError
    from lamina.identity.keys import AccessKeysError, refusal
    from lamina.metering.prices import PriceTableError
    from lamina.secrets import SecretsFileError
    from lamina.server import serve
    from lamina.store.choice import DatabaseUnavailable
    from lamina.tls.certificates import TlsError

    try:
        settings = server_settings(args, environ)
    except (SecretsFileError, AccessKeysError, PriceTableError, TlsError, DatabaseUnavailable) as exc:  # the operator's to fix: said plainly, no traceback
        raise UsageError(str(exc)) from None
    refused = refusal(settings.host, settings.access_keys, verify=settings.verify_signatures)
    if refused is not None:
        raise UsageError(refused)
    from lamina.placement.cluster import RayUnavailable

    try:
        return serve(settings)
    except (DataDirError, TlsError, DatabaseUnavailable, RayUnavailable) as exc:
        raise UsageError(str(exc)) from None


def _spec(args: argparse.Namespace) -> tuple[FunctionSpec, Path]:
    """What to deploy and its code: the command line's settings over the template's, if there is one."""
    template = find_template(args.path)
    found = read_template(template) if template is not None else None
    name = args.name or (found.name if found else None)
    if not name:
        where = f"{template} gives no FunctionName; " if template else ""
        raise UsageError(f"{where}name the function with --name NAME.")
    environment = dict(args.env) if args.env is not None else (found.environment if found else None)
    spec = FunctionSpec(
        name=name,
        runtime=args.runtime or (found.runtime if found else None),
        handler=args.handler or (found.handler if found else None),
        memory_mb=args.memory if args.memory is not None else (found.memory_mb if found else None),
        timeout_seconds=args.timeout if args.timeout is not None else (found.timeout_seconds if found else None),
        environment=environment,
        description=args.description if args.description is not None else (found.description if found else None),
    )
    return spec, found.code if found else args.path


def _progress(args: argparse.Namespace) -> Progress:
    return Progress(enabled=True) if args.progress else Progress()


def _invoke_prefix(client: LambdaClient, environ: Mapping[str, str]) -> str:
    """How a printed command reaches the same server when pasted."""
    prefix = "lamina"
    if client.endpoint != default_endpoint(environ).rstrip("/"):
        prefix += f" --endpoint {shlex.quote(client.endpoint)}"
    return prefix


def _init(args: argparse.Namespace, console: Console, environ: Mapping[str, str]) -> int:
    prefix = "lamina" + (f" --endpoint {shlex.quote(args.endpoint)}" if args.endpoint else "")
    init(console, args.directory, runtime=args.runtime, trigger=args.trigger, name=args.name, prefix=prefix)
    return ExitCode.OK


def _deploy(args: argparse.Namespace, console: Console, environ: Mapping[str, str]) -> int:
    client = _client(args, environ)
    spec, source = _spec(args)
    config = deploy(client, console, spec, source, invoke_prefix=_invoke_prefix(client, environ),
                    progress=_progress(args))  # fmt: skip
    console.emit(config)
    return ExitCode.OK


def _dev(args: argparse.Namespace, console: Console, environ: Mapping[str, str]) -> int:
    payload = load_payload(args.payload) if args.payload is not None else None
    client = _client(args, environ)
    # Stopped by SIGTERM as by Ctrl-C (an editor's task runner stops it so): the debug session ends too.
    previous = signal.signal(signal.SIGTERM, _interrupt) if threading.current_thread() is threading.main_thread() else None
    spec, source = _spec(args)
    try:
        debug = DebugRequest(wait=args.debug == "wait", port=args.debug_port) if args.debug else None
        develop(client, console, spec, source, payload=payload, invoke_prefix=_invoke_prefix(client, environ),
                progress=_progress(args), debug=debug)  # fmt: skip
    except KeyboardInterrupt:  # the way to stop it; not a failure
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return ExitCode.OK


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _invoke(args: argparse.Namespace, console: Console, environ: Mapping[str, str]) -> int:
    payload = load_payload(args.payload)
    return invoke(
        _client(args, environ),
        console,
        args.name,
        payload,
        qualifier=args.qualifier,
        asynchronous=args.asynchronous,
        tail_logs=args.logs,
    )


def _ls(args: argparse.Namespace, console: Console, environ: Mapping[str, str]) -> int:
    list_functions(_client(args, environ), console)
    return ExitCode.OK


def _info(args: argparse.Namespace, console: Console, environ: Mapping[str, str]) -> int:
    client = _client(args, environ)
    show_info(client, console, args.name, prefix=_invoke_prefix(client, environ))
    return ExitCode.OK


def _concurrency(args: argparse.Namespace, console: Console, environ: Mapping[str, str]) -> int:
    if args.provisioned < 0:
        raise UsageError("--provisioned must be 0 or more.")
    provision(_client(args, environ), console, args.name, args.qualifier, args.provisioned, progress=_progress(args))
    return ExitCode.OK


def _apis(args: argparse.Namespace, console: Console, environ: Mapping[str, str]) -> int:
    list_apis(_client(args, environ), console)
    return ExitCode.OK


def _logs(args: argparse.Namespace, console: Console, environ: Mapping[str, str]) -> int:
    try:
        show_logs(_client(args, environ), console, args.name, since=args.since, pattern=args.filter,
                  follow=args.follow)
    except KeyboardInterrupt:  # the way to stop --follow; not a failure
        pass
    return ExitCode.OK


def _queue(args: argparse.Namespace, console: Console, environ: Mapping[str, str]) -> int:
    show_queue(_client(args, environ), console)
    return ExitCode.OK


def _usage(args: argparse.Namespace, console: Console, environ: Mapping[str, str]) -> int:
    if args.csv and args.json:
        raise UsageError("choose --csv or --json, not both")
    show_usage(_client(args, environ), console, by=args.by, start=args.start, end=args.end, as_csv=args.csv,
               operator=_operator(args, environ))  # fmt: skip
    return ExitCode.OK


def _stats(args: argparse.Namespace, console: Console, environ: Mapping[str, str]) -> int:
    if args.csv and args.json:
        raise UsageError("choose --csv or --json, not both")
    show_stats(_client(args, environ), console, start=args.start, end=args.end, sort=args.sort, as_csv=args.csv,
               operator=_operator(args, environ))  # fmt: skip
    return ExitCode.OK


def _add_operator_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--all-accounts", action="store_true",
                         help="every account and region the server has (the operator's: loopback, or "
                              "LAMINA_CONSOLE_TOKEN; docs/usage.md)")  # fmt: skip
    command.add_argument("--account", metavar="ID", help="this account's instead of yours (the operator's)")
    command.add_argument("--region", metavar="REGION", help="with --account: its region (default: AWS_REGION, or us-east-1)")


def _operator(args: argparse.Namespace, environ: Mapping[str, str]) -> Operator | None:
    return operator_of(all_accounts=args.all_accounts, account=args.account, region=args.region,
                       default_region=_region(environ), token=environ.get("LAMINA_CONSOLE_TOKEN") or None)  # fmt: skip


def _schedules(args: argparse.Namespace, console: Console, environ: Mapping[str, str]) -> int:
    list_schedules(_client(args, environ), console)
    return ExitCode.OK


def _mappings(args: argparse.Namespace, console: Console, environ: Mapping[str, str]) -> int:
    list_mappings(_client(args, environ), console)
    return ExitCode.OK


def _outbox(args: argparse.Namespace, console: Console, environ: Mapping[str, str]) -> int:
    if args.delete:
        delete_outbox(_client(args, environ), console, args.delete)
    else:
        show_outbox(_client(args, environ), console, target=args.target)
    return ExitCode.OK


def _queues(args: argparse.Namespace, console: Console, environ: Mapping[str, str]) -> int:
    show_queues(_client(args, environ), console)
    return ExitCode.OK


def _runtimes(args: argparse.Namespace, console: Console, environ: Mapping[str, str]) -> int:
    show_runtimes(_client(args, environ), console)
    return ExitCode.OK


def _rules(args: argparse.Namespace, console: Console, environ: Mapping[str, str]) -> int:
    show_rules(_client(args, environ), console)
    return ExitCode.OK


def _iot(args: argparse.Namespace, console: Console, environ: Mapping[str, str]) -> int:
    show_iot_rules(_client(args, environ), console)
    return ExitCode.OK


def _events(args: argparse.Namespace, console: Console, environ: Mapping[str, str]) -> int:
    if args.events_command == "generate":  # needs no server: a sample made here
        print(json.dumps(generate(args.kind, parse_overrides(args.overrides)), indent=2, ensure_ascii=False))
        return ExitCode.OK
    accepted = put_event(_client(args, environ), console, source=args.source, detail_type=args.detail_type,
                         detail=args.detail, bus=args.bus)  # fmt: skip
    return ExitCode.OK if accepted else ExitCode.FAILURE


def _rm(args: argparse.Namespace, console: Console, environ: Mapping[str, str]) -> int:
    delete_function(_client(args, environ), console, args.name)
    return ExitCode.OK


_COMMANDS: dict[str, Callable[[argparse.Namespace, Console, Mapping[str, str]], int]] = {
    "server": _server,
    "init": _init,
    "deploy": _deploy,
    "invoke": _invoke,
    "ls": _ls,
    "info": _info,
    "concurrency": _concurrency,
    "apis": _apis,
    "logs": _logs,
    "queue": _queue,
    "usage": _usage,
    "dev": _dev,
    "stats": _stats,
    "schedules": _schedules,
    "mappings": _mappings,
    "outbox": _outbox,
    "queues": _queues,
    "runtimes": _runtimes,
    "rules": _rules,
    "iot": _iot,
    "events": _events,
    "event": _events,
    "rm": _rm,
}
