# Sourced by scripts/up and scripts/test: make ./.venv with Python 3.11+ and install Lamina into it.
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
        echo "==> Installing Lamina${extras:+ with its $extras dependencies} into .venv"
        .venv/bin/python -m pip install --quiet --upgrade pip || return 1
        .venv/bin/python -m pip install --quiet -e "$spec" || return 1
        touch "$stamp"
    fi
}
