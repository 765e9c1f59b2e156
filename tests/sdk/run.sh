#!/usr/bin/env bash
# IBM's official Python SDK against the orgsync emulator (docs/emulator.md): installs the SDK
# into a venv, starts two emulators on free loopback ports (one seeded with >=1,000 users and
# >=120 groups and a 1.5 s invite processing time, one with 1 s tokens for the expiry path),
# runs tests/sdk/conformance.py, and stops every process it started however the run ends:
# success, failure, a timeout, Ctrl-C (SIGINT), SIGTERM or SIGHUP.
#
# How: every child runs as a background job of THIS shell and its PID goes into PIDS, which
# the EXIT trap stops and waits for. Two traps make that hold:
# - Never start a child inside "$(...)": that is a subshell, its PIDS+=() is lost, and the
#   trap kills nothing (the bug this layout replaced). start_emulator sets a variable instead.
# - bash runs a trap only once the foreground command returns, so a long command in the
#   foreground would make Ctrl-C wait for it; `bounded` runs it as a job and `wait`s, which
#   a signal interrupts at once.
set -euo pipefail
cd "$(dirname "$0")/../.."

SDK_VERSION=0.77.1
CORE_VERSION=3.28.0
VENV="${ORGSYNC_SDK_VENV:-${CARGO_TARGET_DIR:-target}/sdk-venv}"
BIN="${CARGO_TARGET_DIR:-target}/debug/orgsync"

fail() { echo "tests/sdk/run.sh: $*" >&2; exit 1; }

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  local status=$?
  trap - EXIT INT TERM HUP
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
# A signal becomes an ordinary exit (128 + its number), so the EXIT trap runs.
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Runs `timeout LIMIT CMD...` as a job of this shell and waits for it; returns its status.
# Once it has been waited for, its PID is dropped from PIDS (the kernel may reuse it).
bounded() {
  local limit="$1"; shift
  timeout "$limit" "$@" &
  local pid="$!"
  PIDS+=("$pid")
  local status=0
  wait "$pid" || status=$?
  local kept=() p
  for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
  PIDS=("${kept[@]}")
  return "$status"
}

# start_emulator VAR NAME ARGS...: starts an emulator on a free port and stores its base URL
# (read from its "listening on" line) in VAR. Runs in this shell, never in "$(...)".
start_emulator() {
  local var="$1" name="$2"; shift 2
  "$BIN" emulator --listen 127.0.0.1:0 "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  local pid="$!"
  PIDS+=("$pid")
  local url="" _
  for _ in $(seq 1 300); do
    url="$(sed -n 's/^listening on //p' "$WORK/$name.out" | head -n1)"
    if [ -n "$url" ]; then
      printf -v "$var" '%s' "$url"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$WORK/$name.err" >&2; fail "emulator $name exited early"; }
    sleep 0.1
  done
  cat "$WORK/$name.err" >&2
  fail "emulator $name did not report its address within 30 s"
}

if ! "$VENV/bin/python" -c "import ibm_platform_services, ibm_cloud_sdk_core" 2>/dev/null; then
  echo "== installing ibm-platform-services $SDK_VERSION into $VENV"
  python3 -m venv "$VENV" || fail "cannot create a venv at $VENV (is python3-venv installed?)"
  bounded 600 "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "ibm-platform-services==$SDK_VERSION" "ibm-cloud-sdk-core==$CORE_VERSION" \
    || fail "pip could not install ibm-platform-services $SDK_VERSION from PyPI"
fi

echo "== building orgsync"
bounded 1200 cargo build --quiet --bin orgsync || fail "cargo build failed"

bounded 120 "$VENV/bin/python" tests/sdk/conformance.py write-state "$WORK/state.json" \
  || fail "conformance.py could not write the seeded account"
BASE="" SHORT=""
start_emulator BASE main --state "$WORK/state.json" --processing-ms 1500
start_emulator SHORT short --state "$WORK/state.json" --token-ttl 1
echo "== conformance against $BASE (and $SHORT for token expiry)"
bounded 600 "$VENV/bin/python" tests/sdk/conformance.py run "$BASE" "$SHORT" \
  || { echo "--- emulator stderr" >&2; cat "$WORK/main.err" >&2; fail "the IBM SDK conformance run failed"; }
