#!/usr/bin/env bash
# The project's test command (README, "The two commands"; .ci/run calls exactly this).
# It installs what the interop tests need on a fresh Debian machine — pinned npm packages
# (npm ci from each tests/interop/*/package-lock.json) and pinned PyPI packages (each
# tests/interop/*/requirements.txt into a venv beside it) — then runs `cargo test`.
# Installs are skipped when the lock files have not changed since the last install.
#
# To add a dependency for a test: put a package.json + package-lock.json (npm) or a
# requirements.txt with exact pins (PyPI) in a folder under tests/interop/, or a Debian
# package in APT_PACKAGES below. Tests find them at the same paths.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests need (installed with apt-get as root when missing).
APT_PACKAGES=()

stamp_of() { sha256sum "$@" | sha256sum | cut -d' ' -f1; }

install_apt() {
    local missing=()
    for package in "${APT_PACKAGES[@]}"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "tests/run.sh: apt-get install ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    fi
}

install_npm() {
    local dir=$1 stamp
    stamp=$(stamp_of "$dir/package.json" "$dir/package-lock.json")
    if [ "$(cat "$dir/node_modules/.mitid-sim-stamp" 2>/dev/null)" != "$stamp" ]; then
        echo "tests/run.sh: npm ci in $dir"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
        echo "$stamp" > "$dir/node_modules/.mitid-sim-stamp"
    fi
}

install_pip() {
    local dir=$1 stamp
    stamp=$(stamp_of "$dir/requirements.txt")
    if [ "$(cat "$dir/.venv/.mitid-sim-stamp" 2>/dev/null)" != "$stamp" ]; then
        echo "tests/run.sh: pip install -r $dir/requirements.txt into $dir/.venv"
        rm -rf "$dir/.venv"
        python3 -m venv "$dir/.venv"
        "$dir/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$dir/requirements.txt"
        echo "$stamp" > "$dir/.venv/.mitid-sim-stamp"
    fi
}

install_apt
for lock in tests/interop/*/package-lock.json; do
    [ -e "$lock" ] && install_npm "$(dirname "$lock")"
done
for requirements in tests/interop/*/requirements.txt; do
    [ -e "$requirements" ] && install_pip "$(dirname "$requirements")"
done

cargo test "$@"
