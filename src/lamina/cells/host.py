"""What every cell shares: the host's parts, made once by the server (server.py).

The listening socket and the front door stay the server's; a cell is handed the rest: the
protections the host allows, the network namespaces' pool, the spawner (its template under the
host's work directory, where every environment's scratch space is too), the uid pool (no two
environments of any cell share a uid), the runtimes found on the host, the key ring, and the
environments' API listener, IAM and STS (per account, global across regions), and the index of
S3's bucket names (global), the invocation metrics. ``force`` and ``drain_deadline`` are the shutdown's: whether a second
signal said to stop waiting, and until when invocations in flight may finish.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from lamina.dataplane.counts import Counts
from lamina.iam.service import IamService
from lamina.metrics.stats import InvocationStats
from lamina.dataplane.permits import Revocations
from lamina.scheduler.lending import Lenders
from lamina.objects.bucket_names import BucketNames
from lamina.identity.keys import Keys
from lamina.placement.cluster import RayCluster
from lamina.runtime.runtimes import RuntimeRegistry
from lamina.runtime.sdk import Sdks
from lamina.sandbox.environment import ServeApi
from lamina.sandbox.isolation import Protections, UidPool
from lamina.sandbox.network import NetworkPool
from lamina.sandbox.spawn import Spawner
from lamina.settings import Settings
from lamina.sts.service import FunctionCredentials, StsService


@dataclass(frozen=True)
class Host:
    settings: Settings  # the server's: the default cell's account and region, the data directory
    port: int  # where the API listens (queue URLs, HTTP APIs' endpoints name it)
    keys: Keys
    protections: Protections
    network: NetworkPool | None
    spawner: Spawner
    uids: UidPool
    runtimes: RuntimeRegistry
    work_dir: Path  # environments' scratch space, of every cell
    kept: tuple[Path, ...]  # what a sandboxed environment sees read-only besides its runtime's directories
    serve_api: ServeApi  # Lamina's API inside an environment's namespace (one application for every cell)
    api_url: str  # where environments' SDKs reach Lamina's API (AWS_ENDPOINT_URL)
    sdks: Sdks  # the AWS SDKs functions import
    max_request_bytes: int  # the largest request body accepted
    front_door: Counts | None  # what the front door served (None: it is off)
    force: Callable[[], asyncio.Event | None]  # set once a second signal says to stop waiting
    drain_deadline: Callable[[], float | None]  # monotonic: until when in-flight invocations may finish
    # IAM and STS: per account, global across regions (as AWS's), so the host's, kept in the
    # default cell's store; every cell's Services name them.
    iam: IamService | None = None
    sts: StsService | None = None
    credentials: FunctionCredentials | None = None  # execution roles' credentials for environments
    bucket_names: BucketNames | None = None  # S3's bucket names, global: which cell holds each (default store)
    stats: InvocationStats = field(default_factory=InvocationStats)  # every cell's invocations, for /metrics
    # The native data plane's: every cell's pools lend through it (scheduler/lending.py), and the
    # writes that could change an Invoke's authorization revoke its permits (dataplane/permits.py).
    lenders: Lenders = field(default_factory=Lenders)
    revocations: Revocations = field(default_factory=Revocations)
    # LAMINA_RAY_ADDRESS: the cluster environments are placed on, and where its workers relay
    # environments' calls to Lamina's API (placement/); None: environments run on this machine.
    ray: RayCluster | None = None
    ray_api: tuple[str, int] | None = None
