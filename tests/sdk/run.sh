#!/usr/bin/env bash
# IBM's official Python SDK against the orgsync emulator (SPEC §9): installs the SDK into a
# venv, starts two emulators on free loopback ports (one seeded with >=1,000 users and
# >=120 groups and a 1.5 s invite processing time, one with 1 s tokens for the expiry
# path), runs tests/sdk/conformance.py, and always stops the emulators.
set -euo pipefail
cd "$(dirname "$0")/../.."

SDK_VERSION=0.77.1
CORE_VERSION=3.28.0
VENV="${ORGSYNC_SDK_VENV:-${CARGO_TARGET_DIR:-target}/sdk-venv}"
BIN="${CARGO_TARGET_DIR:-target}/debug/orgsync"

fail() { echo "tests/sdk/run.sh: $*" >&2; exit 1; }

if ! "$VENV/bin/python" -c "import ibm_platform_services, ibm_cloud_sdk_core" 2>/dev/null; then
  echo "== installing ibm-platform-services $SDK_VERSION into $VENV"
  python3 -m venv "$VENV" || fail "cannot create a venv at $VENV (is python3-venv installed?)"
  timeout 600 "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "ibm-platform-services==$SDK_VERSION" "ibm-cloud-sdk-core==$CORE_VERSION" \
    || fail "pip could not install ibm-platform-services $SDK_VERSION from PyPI"
fi

echo "== building orgsync"
timeout 1200 cargo build --quiet --bin orgsync || fail "cargo build failed"

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# Starts an emulator on a free port; prints its base URL (read from its stdout line).
start_emulator() {
  local name="$1"; shift
  "$BIN" emulator --listen 127.0.0.1:0 "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PIDS+=("$!")
  local pid="$!"
  for _ in $(seq 1 300); do
    if grep -q '^listening on ' "$WORK/$name.out" 2>/dev/null; then
      sed -n 's/^listening on //p' "$WORK/$name.out" | head -n1
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$WORK/$name.err" >&2; fail "emulator $name exited early"; }
    sleep 0.1
  done
  cat "$WORK/$name.err" >&2
  fail "emulator $name did not report its address within 30 s"
}

"$VENV/bin/python" tests/sdk/conformance.py write-state "$WORK/state.json"
BASE="$(start_emulator main --state "$WORK/state.json" --processing-ms 1500)"
SHORT="$(start_emulator short --state "$WORK/state.json" --token-ttl 1)"
echo "== conformance against $BASE (and $SHORT for token expiry)"
timeout 600 "$VENV/bin/python" tests/sdk/conformance.py run "$BASE" "$SHORT" \
  || { echo "--- emulator stderr" >&2; cat "$WORK/main.err" >&2; fail "the IBM SDK conformance run failed"; }
