#!/usr/bin/env bash
# Installs what hopthu needs to build and test, when it is missing, on a
# Debian machine (as root, or with sudo): the C libraries git2 links
# (libssl-dev, pkg-config), slapd and ldap-utils for the LDAP tests,
# chromium for the public directory page's tests, and a Rust toolchain. Safe to run again: it installs nothing that is there.
#
#   bash scripts/setup.sh
#
# The slapd package is installed without a configuration or a database of
# its own, so no system server is started: the tests start their own.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

section() { printf '\n==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "error: need root (or sudo) to run: $*" >&2
    exit 1
  fi
}

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

section "System packages"
# slapd and ldap-utils: the test server and its command-line tools;
# libssl-dev and pkg-config: crates that link OpenSSL; gcc and libc6-dev:
# the linker and the C parts of some crates (ring); python3 and python3-venv:
# kubernetes-validate, which checks the Kubernetes manifests offline;
# chromium and fonts-dejavu-core: the public directory page is tested in
# headless Chromium (a search, a screenshot), with fonts that hold every
# Vietnamese letter.
packages=(slapd ldap-utils libssl-dev pkg-config gcc libc6-dev python3 python3-venv chromium fonts-dejavu-core)
missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "all present: ${packages[*]}"
else
  echo "installing: ${missing[*]}"
  # Install slapd without a configuration or database of its own, so that
  # the package starts no system server: the tests run their own.
  echo 'slapd slapd/no_configuration boolean true' | as_root debconf-set-selections
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
for tool in /usr/sbin/slapd /usr/sbin/slapadd /usr/bin/ldapsearch /usr/bin/ldapwhoami; do
  [ -x "$tool" ] || { echo "error: $tool is missing after the install" >&2; exit 1; }
done
/usr/sbin/slapd -VV 2>&1 | head -n 1
command -v chromium >/dev/null 2>&1 || { echo "error: chromium is missing after the install" >&2; exit 1; }

section "Rust toolchain"
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  # Debian 12's own rustc (1.63) is too old for this crate (edition 2024).
  echo "cargo not found: installing the stable toolchain with rustup"
  for p in curl ca-certificates; do
    installed "$p" || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$p"
  done
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
    sh -s -- -y --profile minimal --default-toolchain stable -c rustfmt -c clippy
  export PATH="$HOME/.cargo/bin:$PATH"
fi
for component in fmt clippy; do
  if ! cargo "$component" --version >/dev/null 2>&1; then
    if command -v rustup >/dev/null 2>&1; then
      name=$([ "$component" = fmt ] && echo rustfmt || echo clippy)
      rustup component add "$name"
    else
      echo "error: cargo $component is not installed" >&2
      exit 1
    fi
  fi
done
cargo --version
rustc --version

