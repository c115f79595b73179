# Shared settings of the deploy/local scripts; sourced, not run. Every setting is an environment
# variable with a default, so two clusters can run side by side with different values.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

RUN_DIR="${STEPSIZE_RUN_DIR:-./stepsize-cluster}"           # pids, logs, data
JAR="${STEPSIZE_JAR:-$repo/cli/target/stepsize.jar}"   # the project's shaded jar
BROKERS="${STEPSIZE_BROKERS:-3}"                           # KRaft nodes (broker + controller each)
REPLICAS="${STEPSIZE_REPLICAS:-2}"                         # stepsize serve processes
KAFKA_PORT="${STEPSIZE_KAFKA_PORT:-19092}"                 # broker i listens on KAFKA_PORT + i - 1
CONTROLLER_PORT="${STEPSIZE_CONTROLLER_PORT:-19192}"       # controller i on CONTROLLER_PORT + i - 1
GRPC_PORT="${STEPSIZE_GRPC_PORT:-50051}"                   # replica i on GRPC_PORT + i - 1
HTTP_PORT="${STEPSIZE_HTTP_PORT:-8080}"                    # replica i's console and /metrics on HTTP_PORT + i - 1
BIND_ADDRESS="${STEPSIZE_BIND_ADDRESS:-127.0.0.1}"         # where replicas listen; 0.0.0.0 for other hosts
PARTITIONS="${STEPSIZE_PARTITIONS:-6}"                     # of new topics = max estimator parallelism
BROKER_HEAP="${STEPSIZE_BROKER_HEAP:-512m}"
REPLICA_HEAP="${STEPSIZE_REPLICA_HEAP:-384m}"
ESTIMATOR_HEAP="${STEPSIZE_ESTIMATOR_HEAP:-512m}"
WAIT_SECONDS="${STEPSIZE_WAIT_SECONDS:-120}"
# every JVM here: an OutOfMemoryError ends the process at once, so it restarts like after a
# SIGKILL instead of limping on with dead threads (a dead raft or coordinator thread of a broker)
JVM_FLAGS=(-XX:+ExitOnOutOfMemoryError)

RF=$(( BROKERS < 3 ? BROKERS : 3 ))
MIN_ISR=$(( RF > 1 ? RF - 1 : 1 ))

mkdir -p "$RUN_DIR"
RUN_DIR="$(cd "$RUN_DIR" && pwd)"

if [ ! -f "$JAR" ]; then
  echo "no $JAR: build it with 'mvn -B -q -pl cli -am package -DskipTests'" >&2
  exit 1
fi

bootstrap_servers() {
  local s="" i
  for i in $(seq 1 "$BROKERS"); do
    s="${s:+$s,}localhost:$(( KAFKA_PORT + i - 1 ))"
  done
  echo "$s"
}

grpc_targets() {
  local s="" i
  for i in $(seq 1 "$REPLICAS"); do
    s="${s:+$s,}localhost:$(( GRPC_PORT + i - 1 ))"
  done
  echo "$s"
}

# running <name>: true when RUN_DIR/<name>.pid names a live process
running() {
  local pidfile="$RUN_DIR/$1.pid"
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

# launch <name> <command…>: starts it in the background, log in RUN_DIR/<name>.log
launch() {
  local name="$1"; shift
  if running "$name"; then
    echo "$name already running (pid $(cat "$RUN_DIR/$name.pid"))"
    return 0
  fi
  nohup "$@" >>"$RUN_DIR/$name.log" 2>&1 &
  echo $! >"$RUN_DIR/$name.pid"
  echo "$name started (pid $!, log $RUN_DIR/$name.log)"
}

# await_log <name> <pattern>: waits until the log shows pattern, fails if the process dies
await_log() {
  local name="$1" pattern="$2" waited=0
  until grep -q "$pattern" "$RUN_DIR/$name.log" 2>/dev/null; do
    if ! running "$name"; then
      echo "$name exited; last lines of $RUN_DIR/$name.log:" >&2
      tail -n 20 "$RUN_DIR/$name.log" >&2
      return 1
    fi
    if [ "$waited" -ge "$WAIT_SECONDS" ]; then
      echo "$name: no '$pattern' in its log after ${WAIT_SECONDS}s" >&2
      return 1
    fi
    sleep 1; waited=$(( waited + 1 ))
  done
}

# await_port <port>: waits until something accepts connections on localhost:<port>
await_port() {
  local port="$1" waited=0
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if [ "$waited" -ge "$WAIT_SECONDS" ]; then
      echo "nothing listens on port $port after ${WAIT_SECONDS}s" >&2
      return 1
    fi
    sleep 1; waited=$(( waited + 1 ))
  done
}

# stop_all_of <signal> <name…>: signals them all at once, then waits for each (SIGKILL after 60 s)
stop_all_of() {
  local signal="$1"; shift
  local name pids=()
  for name in "$@"; do
    if running "$name"; then
      kill "-$signal" "$(cat "$RUN_DIR/$name.pid")" 2>/dev/null || true
      pids+=("$name")
    fi
  done
  for name in "${pids[@]}"; do
    local pid waited=0
    pid="$(cat "$RUN_DIR/$name.pid")"
    while kill -0 "$pid" 2>/dev/null; do
      if [ "$waited" -ge 60 ]; then
        echo "$name (pid $pid) still up after 60 s: SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      sleep 1; waited=$(( waited + 1 ))
    done
    rm -f "$RUN_DIR/$name.pid"
    echo "$name stopped"
  done
}
