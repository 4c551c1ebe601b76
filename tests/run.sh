#!/usr/bin/env bash
# The project's test command (README, "The two commands"; .ci/run calls exactly this).
# It installs what the tests need on a fresh Debian machine with tests/interop/install.sh
# (Debian packages as root, the pinned PyPI venv, `npm ci` from each lock file under
# tests/interop/; quick when all is there), then runs `cargo test`. Dependencies for new
# tests go into tests/interop/install.sh and the lock files it reads.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/interop/install.sh
cargo test "$@"
