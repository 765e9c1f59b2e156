#!/usr/bin/env bash
# Tests for scripts/no-leaks: each case runs it on a small command that leaks (or does not)
# in one particular way and checks its exit status, what it says, and that nothing the case
# started is alive afterwards. Every leaked process sleeps for a duration unique to this run
# and case, so the check finds exactly it (and never another process on the machine).
set -uo pipefail
cd "$(dirname "$0")"

NL="$PWD/no-leaks"
tag="$$"
passed=0 failed=0
out="$(mktemp)"
trap 'rm -f "$out"' EXIT

# A sleep duration no other process uses: 7<pid><case number> seconds.
nap() { echo "7${tag}$1"; }
# Is `sleep $(nap N)` running? ("[7]": the pattern does not match grep's own command line.)
alive() { grep -qzx -e "[7]${tag}$1" /proc/[0-9]*/cmdline 2>/dev/null; }
gone() { ! alive "$1"; }

# check NAME CONDITION...: records a pass or a failure (with no-leaks' output).
check() {
  local name="$1"; shift
  if "$@"; then
    passed=$((passed + 1)); echo "ok: $name"
  else
    failed=$((failed + 1)); echo "FAILED: $name"; sed 's/^/    /' "$out"
  fi
}

# run CMD...: runs no-leaks on CMD, its output in $out, its status in $rc.
run() { rc=0; "$NL" "$@" >"$out" 2>&1 || rc=$?; }
# finish PID: waits for a no-leaks run started in the background (at most 40 s, then kills
# it so a broken signal path fails the case instead of hanging the test); status in $rc.
finish() {
  local i
  for ((i = 0; i < 400; i++)); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$1" 2>/dev/null && { echo "no-leaks did not end within 40 s" >>"$out"; kill -KILL "$1"; }
  rc=0; wait "$1" || rc=$?
}
said() { grep -qF -- "$1" "$out"; }
clean_report() { said "outlived it" && ! said "process(es)"; }

run true
check "a clean command passes" [ "$rc" = 0 ]
check "a clean run says so" said "no process started by 'true' outlived it"

run bash -c 'exit 3'
check "the command's own status is kept" [ "$rc" = 3 ]

run bash -c "sleep $(nap 1) & echo started"
check "a background child that outlives the command fails the run" [ "$rc" = 1 ]
check "the survivor is named" said "sleep $(nap 1)"
check "the survivor is stopped afterwards" gone 1

run bash -c "setsid sleep $(nap 2) & echo started"
check "a child that left the session with setsid is still found" [ "$rc" = 1 ]
check "and stopped" gone 2

run bash -c "(sleep $(nap 3) &); exit 5"
check "a failing command that also leaks keeps its own status" [ "$rc" = 5 ]
check "its orphaned grandchild is found and stopped" gone 3

run bash -c "bash -c 'trap \"\" TERM; sleep $(nap 4)' & sleep 0.2"
check "a survivor that ignores SIGTERM is found" [ "$rc" = 1 ]
check "and killed" gone 4

run "$NL" bash -c "sleep $(nap 5) &"
check "a nested run fails on its own leak" [ "$rc" = 1 ]
check "the nested run stopped it, so the outer one passes" said "no process started by '$NL' outlived it"
check "nothing is left" gone 5

# A script that cleans up on SIGTERM, like tests/sdk/run.sh: no-leaks passes the signal on,
# the script's trap stops its server, and nothing is reported.
"$NL" bash -c "sleep $(nap 6) & trap 'kill \$!; wait \$!; exit 143' TERM; wait" >"$out" 2>&1 &
runner=$!
for _ in $(seq 1 50); do alive 6 && break; sleep 0.1; done
check "(the server was running before SIGTERM)" alive 6
kill -TERM "$runner"
finish "$runner"
check "SIGTERM ends the run with 143" [ "$rc" = 143 ]
check "SIGTERM is passed on" said "got SIGTERM"
check "a run that cleans up on SIGTERM leaves nothing to report" clean_report
check "its server is gone" gone 6

# A command that ignores SIGINT: no-leaks passes SIGINT on, waits 10 s, then kills it. (Job
# control on, or bash would start the background job with SIGINT ignored, and a signal
# ignored on entry cannot be trapped.)
set -m
"$NL" bash -c "trap '' INT; sleep $(nap 7)" >"$out" 2>&1 &
runner=$!
for _ in $(seq 1 50); do alive 7 && break; sleep 0.1; done
check "(the command was running before SIGINT)" alive 7
kill -INT "$runner"
finish "$runner"
check "SIGINT ends the run with 130" [ "$rc" = 130 ]
set +m
check "the command that ignored it is killed" gone 7
check "and that is said" said "did not stop within 10 s of SIGINT"

echo "no-leaks: $passed passed, $failed failed"
[ "$failed" = 0 ]
