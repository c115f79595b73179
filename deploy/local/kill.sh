#!/usr/bin/env bash
# Fault drill: kill.sh <kafka|replica|estimator> <i> [SIGNAL] kills one process (default SIGKILL,
# a crash: no controlled shutdown, no leaving the group). Bring it back with the start script of
# its kind, which starts only what is not running.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if [ $# -lt 2 ]; then
  echo "usage: kill.sh <kafka|replica|estimator> <i> [SIGNAL]" >&2
  exit 2
fi
name="$1-$2"
if ! running "$name"; then
  echo "$name is not running" >&2
  exit 1
fi
pid="$(cat "$RUN_DIR/$name.pid")"
# gone for good before returning, so a start script right after does start it again
stop_all_of "${3:-KILL}" "$name" >/dev/null
echo "$name (pid $pid) killed with SIG${3:-KILL}"
