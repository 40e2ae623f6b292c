# Sourced by scripts/up, scripts/test and scripts/bench: make ./.venv with Python 3.11+, install
# Lamina into it, and build its native module (native/) when Rust's cargo is on PATH.
# Usage: lamina_venv [EXTRAS]   (e.g. lamina_venv test)
lamina_venv() {
    local extras="${1:-}" python="" candidate
    for candidate in "${LAMINA_BOOTSTRAP_PYTHON:-}" python3 python3.13 python3.12 python3.11; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
            python="$candidate"
            break
        fi
    done
    if [ -z "$python" ]; then
        echo "Lamina needs Python 3.11 or newer (with the venv module); none was found on PATH." >&2
        echo "On Debian/Ubuntu: sudo apt-get install python3 python3-venv" >&2
        return 1
    fi
    if [ ! -x .venv/bin/python ]; then
        echo "==> Creating .venv with $("$python" --version)"
        "$python" -m venv .venv || return 1
    fi
    local spec="."
    [ -n "$extras" ] && spec=".[$extras]"
    local stamp=".venv/.installed-$extras"
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        echo "==> Installing Lamina${extras:+ with its $extras dependencies} into .venv (a minute or so the first time)"
        .venv/bin/python -m pip install --quiet --upgrade pip || return 1
        .venv/bin/python -m pip install --progress-bar off -e "$spec" | lamina_pip_progress
        [ "${PIPESTATUS[0]}" -eq 0 ] || return 1
        touch "$stamp"
    fi
    lamina_native_build
}

# pip's output cut down to a line per package it fetches and one when it installs them: progress
# without pip's pages of "Requirement already satisfied". Its errors go to stderr, untouched.
lamina_pip_progress() {
    local line count=0
    while IFS= read -r line; do
        case $line in
        Collecting\ *)
            count=$((count + 1))
            line=${line#Collecting }
            echo "    fetching ${line%% *} ($count)"
            ;;
        "Installing collected packages:"*) echo "    installing $count packages..." ;;
        "Successfully installed"*) echo "    done." ;;
        esac
    done
}

# native/ (lamina_native, Rust) into .venv: built when cargo is on PATH and native/ changed since
# the last build (a release build: about two minutes from scratch, seconds after a change); without
# cargo, Lamina works unchanged, serving every request in Python and verifying signatures with awscrt
# (slower), said once.
lamina_native_build() {
    local stamp=".venv/.native-built" skipped=".venv/.native-skipped"
    if ! command -v cargo >/dev/null 2>&1; then
        if [ ! -f "$skipped" ]; then
            echo "==> Not building Lamina's native module (native/): no cargo on PATH. Lamina works without it;" \
                "warm Invokes are then served by Python and SigV4 signatures computed by awscrt, which is slower. To build it, install Rust" \
                "(https://rustup.rs: curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh) and run this again." >&2
            touch "$skipped"
        fi
        return 0
    fi
    rm -f "$skipped"
    if [ -f "$stamp" ] && [ -z "$(find native -path native/target -prune -o -type f -newer "$stamp" -print -quit)" ]; then
        return 0
    fi
    echo "==> Building Lamina's native module (native/, Rust, release) into .venv"
    if ! .venv/bin/python -m pip install --quiet ./native; then
        echo "Building native/ failed (cargo is on PATH, so Lamina expects it to build); see the errors above." >&2
        return 1
    fi
    touch "$stamp"
}
