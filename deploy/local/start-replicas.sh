#!/usr/bin/env bash
# Starts STEPSIZE_REPLICAS (default 2) `stepsize serve --bootstrap-servers … --no-estimator`
# processes on gRPC ports STEPSIZE_GRPC_PORT, +1, … (console and /metrics on STEPSIZE_HTTP_PORT, +1, …) and waits until each reports SERVING (its
# local views caught up with the jobs and curvature topics). Running ones are left alone.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

for i in $(seq 1 "$REPLICAS"); do
  name="replica-$i"
  # a restarted replica must not find its previous run's SERVING line
  running "$name" || : >"$RUN_DIR/$name.log"
  launch "$name" java "${JVM_FLAGS[@]}" "-Xmx$REPLICA_HEAP" -jar "$JAR" serve \
    --bootstrap-servers "$(bootstrap_servers)" \
    --grpc-port $(( GRPC_PORT + i - 1 )) \
    --http-port $(( HTTP_PORT + i - 1 )) \
    --bind-address "$BIND_ADDRESS" \
    --data-dir "$RUN_DIR/$name" \
    --partitions "$PARTITIONS" \
    --no-estimator
done
for i in $(seq 1 "$REPLICAS"); do
  await_log "replica-$i" "SERVING"
  echo "replica-$i SERVING on localhost:$(( GRPC_PORT + i - 1 )), console http://localhost:$(( HTTP_PORT + i - 1 ))/"
done
echo "clients: StepsizeClient.connect(List.of(\"$(grpc_targets | sed 's/,/", "/g')\"), deadline)"
