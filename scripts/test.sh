#!/usr/bin/env bash
# The project's test command: bash scripts/test.sh
#
# On a fresh Debian 12 machine (as root, or with sudo) it installs what is
# missing, then runs the formatter check, clippy and every test. The LDAP
# tests start their own throwaway slapd on 127.0.0.1 (tests/support/slapd.rs):
# no system slapd is configured, started or used.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

section() { printf '\n==> %s\n' "$*"; }

# Packages and the toolchain, installed when missing.
source scripts/setup.sh
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi

failed=()
run() {
  local name=$1
  shift
  section "$name: $*"
  if "$@"; then
    echo "--- $name: ok"
  else
    echo "--- $name: FAILED (exit $?)"
    failed+=("$name")
  fi
}

# The Kubernetes manifests, offline, against the Kubernetes OpenAPI schemas
# (kubernetes-validate from PyPI bundles them); the MailDirectory sample is
# checked against the CRD's own schema by tests/controller.rs.
validate_manifests() {
  local venv=target/kubernetes-validate
  if [ ! -x "$venv/bin/kubernetes-validate" ]; then
    python3 -m venv "$venv" && "$venv/bin/pip" install -q "kubernetes-validate==1.37.0" || return 1
  fi
  local v
  for v in 1.33.0 1.37.0; do
    "$venv/bin/kubernetes-validate" --strict --quiet -k "$v" examples/kubernetes/*.yaml || return 1
  done
}

run "format" cargo fmt --all -- --check
run "clippy" cargo clippy --locked --all-targets -- -D warnings
run "tests" cargo test --locked --all-targets
run "doc tests" cargo test --locked --doc
run "kubernetes manifests" validate_manifests

section "Summary"
if [ "${#failed[@]}" -ne 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all checks passed"
