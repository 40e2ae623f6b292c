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

from lamina.cli.apis import list_apis
from lamina.cli.concurrency import provision
from lamina.cli.info import show_info
from lamina.cli.init import init
from lamina.identity.signing import Credentials
from lamina.cli.client import DEFAULT_ENDPOINT, LambdaClient
from lamina.cli.deploy import deploy
from lamina.cli.errors import CliError, ExitCode, UsageError
from lamina.cli.events import put_event, show_rules
from lamina.cli.queues import show_queues
from lamina.cli.runtimes import show_runtimes
from lamina.cli.generate import generate, parse_overrides
from lamina.cli.functions import delete_function, list_functions
from lamina.cli.invoke import invoke, load_payload
from lamina.cli.iot import show_iot_rules
from lamina.cli.queue import delete_outbox, show_outbox, show_queue
from lamina.cli.schedules import list_schedules
from lamina.cli.dev import DebugRequest, develop
from lamina.cli.logs import show_logs
from lamina.cli.usage import Operator, operator_of, show_stats, show_usage
from lamina.cli.mappings import list_mappings
from lamina.cli.parser import ENDPOINT_VARIABLE, build_parser
from lamina.cli.output import Console
from lamina.cli.progress import Progress
from lamina.cli.shapes import FunctionSpec
from lamina.cli.template import find_template, read_template
from lamina.settings import Settings

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


def server_settings(args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    return Settings.from_env(environ, host=args.host, port=args.port, data_dir=args.data_dir,
                              tls_port=args.tls_port)  # fmt: skip


def default_endpoint(environ: Mapping[str, str]) -> str:
    return environ.get(ENDPOINT_VARIABLE) or DEFAULT_ENDPOINT


def endpoint_of(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    return str(args.endpoint or default_endpoint(environ))


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
