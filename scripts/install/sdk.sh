#!/usr/bin/env bash
# Installs the AWS SDKs that Lamina's runtimes put inside functions, as AWS's runtimes carry them:
# boto3 for the python runtimes (pip), the AWS SDK for JavaScript v3 for nodejs18.x and later (npm,
# from the lock in src/lamina/runtime/sdk/nodejs/), under $LAMINA_SDK_DIR (~/.cache/lamina/sdk).
# Idempotent and cached: a quick no-op when the pinned versions are there. Needs Lamina's .venv
# (scripts/venv.sh) and, for the JavaScript SDK, npm (scripts/install/nodejs.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec .venv/bin/python -m lamina.runtime.sdk.install "$@"
