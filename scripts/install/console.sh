#!/usr/bin/env bash
# Builds the web console's front end (docs/console.md): `npm ci` in console/ from its committed
# package.json and package-lock.json (Preact, htm, uPlot; and playwright-core, which the console's
# browser tests drive Debian's Chromium with), then copies the browser's files into
# src/lamina/console/static/vendor/ (git-ignored), which Lamina serves at /console/assets/vendor/.
# Nothing comes from a CDN. Idempotent: a quick no-op while the lock file is unchanged.
# Needs Node.js's npm (scripts/install/nodejs.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/../.."

vendor=src/lamina/console/static/vendor
stamp="$vendor/.built"
if [ -f "$stamp" ] && [ "$stamp" -nt console/package-lock.json ] && [ -d console/node_modules/playwright-core ]; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    bash scripts/install/nodejs.sh
fi
echo "console: installing its front-end packages (npm ci in console/) into $vendor"
(cd console && npm ci --no-audit --no-fund --loglevel=error)
rm -rf "$vendor"
mkdir -p "$vendor"
modules=console/node_modules
cp "$modules/preact/dist/preact.module.js" "$vendor/preact.js"
cp "$modules/preact/hooks/dist/hooks.module.js" "$vendor/preact-hooks.js"
cp "$modules/htm/dist/htm.module.js" "$vendor/htm.js"
cp "$modules/uplot/dist/uPlot.esm.js" "$vendor/uplot.js"
cp "$modules/uplot/dist/uPlot.min.css" "$vendor/uplot.css"
for package in preact htm uplot; do  # their licenses travel with the copies
    cp "$modules/$package/LICENSE"* "$vendor/LICENSE.$package" 2>/dev/null || true
done
touch "$stamp"
