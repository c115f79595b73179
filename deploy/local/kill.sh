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
kill "-${3:-KILL}" "$pid"
# gone for good before returning, so a start script right after does start it again
waited=0
while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 600 ]; do
  sleep 0.1; waited=$(( waited + 1 ))
done
rm -f "$RUN_DIR/$name.pid"
echo "$name (pid $pid) killed with SIG${3:-KILL}"
