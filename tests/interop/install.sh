#!/usr/bin/env bash
# Installs what building and testing mitid-sim needs beyond Rust, on a fresh Debian
# machine; quick when everything is there already. Run as root (CI is).
#
# NemLog-in (SAML) section:
#   - build: libxmlsec1-dev, libxml2-dev, pkg-config (link libxmlsec1 with its OpenSSL
#     engine) and libclang-dev (bindgen reads the libxmlsec1 headers);
#   - interop tests: the xmlsec1 program (pysaml2 signs, verifies and decrypts with it)
#     and pysaml2 in a venv at tests/interop/python/.venv, pinned by requirements.txt.
# Conformance kit section (tests/api/library_rps.rs):
#   - Authlib and Flask in the same venv (python/requirements.txt);
#   - the npm packages of every tests/interop/*/package-lock.json, by `npm ci`.
# OpenID Connect interop section (tests/api/openid_client_node.rs and
# tests/api/openid_client_back_channel.rs):
#   - Node.js (20 or later; Debian's nodejs and npm when the machine has none) and
#     openid-client, pinned in tests/interop/openid-client/package-lock.json (`npm ci`).
# To add a dependency: a Debian package to `packages`, a pin to python/requirements.txt
# (with its dependencies, as `pip freeze` gives them), or a folder here with a
# package.json and package-lock.json.
#
# Browser tests: headless Chromium (pages under their Content-Security-Policy).
# The conformance kit's single-page reference RP (tests/api/spa_rp.rs): oidc-client-ts and
# jose, pinned in tests/interop/spa/package-lock.json (`npm ci` below), served as they are
# to headless Chromium.
#
# Install section (completions, manual pages, HTTPS):
#   - zsh and fish run the generated completions; groff-base renders the manual pages;
#   - Node's openid-client (tests/interop/tls-node) logs in over HTTPS: its npm packages
#     come with the loop below, run by the machine's Node.js (20 or newer).
set -euo pipefail
cd "$(dirname "$0")"

packages=(libxmlsec1-dev libxml2-dev pkg-config libclang-dev xmlsec1 python3-venv chromium zsh fish groff-base)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "missing packages: ${missing[*]} (run this script as root, or apt-get install them)" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

venv=python/.venv
stamp="$venv/.requirements"
if [[ ! -x "$venv/bin/python" ]] || ! cmp -s python/requirements.txt "$stamp"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r python/requirements.txt
    cp python/requirements.txt "$stamp"
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "node and npm are missing (run this script as root, or install Node.js 20+)" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi

for lock in */package-lock.json; do
    [[ -e "$lock" ]] || continue
    dir=$(dirname "$lock")
    stamp="$dir/node_modules/.lock-installed"
    if ! cmp -s "$lock" "$stamp"; then
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
        cp "$lock" "$stamp"
    fi
done
