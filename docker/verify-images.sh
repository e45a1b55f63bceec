#!/usr/bin/env bash
# Builds the service images from docker/Dockerfile and checks them by running them:
#   - the runtime image holds no compiler, sets NODE_ENV=production, runs as a non-root numeric user;
#   - the containers start as that user with a read-only root filesystem (a tmpfs on /tmp only, all
#     capabilities dropped, no privilege escalation: what the Helm chart's securityContext asks for),
#     and answer their liveness (/health) and readiness (/ready) probes;
#   - events logged into the Logger survive a container restart and a replacement container, because they
#     live on the mounted volume; SIGTERM shuts the service down cleanly (exit code 0);
#   - the dev image (Tilt live_update) recompiles and restarts the service when a source file changes;
#   - the Brain recomputes a student through the Logger container, once the Brain exists.
#
# Runs as root on Debian bookworm, with npm installed. It installs what it needs with apt-get, builds with
# `podman build --isolation=chroot` and runs with `podman --runtime runc run`. The base image is the local
# stand-in for node:24-bookworm-slim that docker/build-base-image.sh builds with the Node 24 that
# scripts/use-node-24.sh puts on PATH (no image registry is needed; the stand-in is rebuilt only when that
# Node version changes), passed to the Dockerfile as NODE_IMAGE. NODE_IMAGE=<image> in the environment uses
# that image instead (pulled when it is not present), e.g. the official node:24-bookworm-slim.
# Leaves the images tagged learning-analytics/<service>:dev; removes every container and volume it made.
#
# Usage: [NODE_IMAGE=<image>] docker/verify-images.sh
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

readonly RUN_ID="la-verify-$$"
readonly LOGGER_IMAGE="learning-analytics/learning-events:dev"
readonly BRAIN_IMAGE="learning-analytics/concept-mastery:dev"
readonly LOGGER_DEV_IMAGE="learning-analytics/learning-events:dev-live"
readonly PROBE_TIMEOUT_S=60

started_at=$SECONDS
current_step="setup"
containers=()
volumes=()
summary=()

step() { current_step="$*"; printf '\n==> [%4ds] %s\n' "$((SECONDS - started_at))" "$*"; }
info() { printf '    %s\n' "$*"; }
pass() { printf '    ok: %s\n' "$*"; summary+=("$*"); }
fail() { printf '    FAILED: %s\n' "$*" >&2; exit 1; }

cleanup() {
  local status=$?
  set +e
  if ((status != 0)); then
    for name in $(printf '%s\n' "${containers[@]}" | sort -u); do
      podman container exists "$name" || continue
      printf '\n---- last log lines of container %s ----\n' "$name" >&2
      podman logs --tail 40 "$name" >&2 2>&1
    done
  fi
  for name in $(printf '%s\n' "${containers[@]}" | sort -u); do podman rm --force --time 0 "$name" >/dev/null 2>&1; done
  for name in "${volumes[@]}"; do podman volume rm --force "$name" >/dev/null 2>&1; done
  [[ -n "${work_dir:-}" ]] && rm -rf "$work_dir"
  if ((status == 0)); then
    printf '\nSummary:\n'
    printf '  - %s\n' "${summary[@]}"
    printf '\nverify-images: PASSED in %ds (%d checks)\n' "$((SECONDS - started_at))" "${#summary[@]}"
  else
    printf '\nverify-images: FAILED in %ds during: %s\n' "$((SECONDS - started_at))" "$current_step" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[[ $EUID -eq 0 ]] || fail "run as root (apt-get, mmdebstrap and rootful podman need it)"

# --------------------------------------------------------------------------------------------------------
step "installing podman, runc, mmdebstrap and friends with apt-get"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  podman runc mmdebstrap uidmap fuse-overlayfs slirp4netns ca-certificates curl jq >/dev/null
info "$(podman --version); runc $(runc --version | sed -n '1s/runc version //p'); mmdebstrap $(mmdebstrap --version | awk '{print $2}')"

# Podman's default per-container ulimits cannot be applied in every environment (e.g. inside another
# container); an empty list keeps the runtime's limits.
work_dir="$(mktemp -d)"
printf '[containers]\ndefault_ulimits = []\n' >"$work_dir/containers.conf"
export CONTAINERS_CONF="$work_dir/containers.conf"

podman_run() { podman --runtime runc run "$@"; }

# A network that intercepts TLS presents certificates signed by its own CA, which the system trust store
# knows but Node's bundled one does not. Handing the system bundle to the build as the optional `extra_ca`
# secret lets npm reach the registry there; elsewhere it only repeats the public CAs Node already trusts.
build_secret=()
ca_bundle="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"
[[ -f "$ca_bundle" ]] && build_secret=(--secret "id=extra_ca,src=$ca_bundle")

# --------------------------------------------------------------------------------------------------------
# The Node major version every image must run: the one the project is built and tested on.
node_major="$(cat .nvmrc)"
step "base image (Node $node_major)"
if [[ -n "${NODE_IMAGE:-}" ]]; then
  base_image="$NODE_IMAGE"
  if podman image exists "$base_image"; then
    info "$base_image (from NODE_IMAGE) is present"
  else
    podman pull -q "$base_image" >/dev/null || fail "cannot pull $base_image (from NODE_IMAGE)"
    info "$base_image (from NODE_IMAGE) pulled"
  fi
else
  # The stand-in gets the Node of the host's PATH: make it Node 24 (a no-op when it already is).
  . scripts/use-node-24.sh || fail "no Node $node_major for the local base image (scripts/use-node-24.sh)"
  base_image="$(docker/build-base-image.sh)" || fail "building the local base image (docker/build-base-image.sh)"
  info "$base_image: the local stand-in built by docker/build-base-image.sh"
fi
base_node="$(podman_run --rm --entrypoint node "$base_image" --version)" || fail "$base_image does not run node"
[[ "$base_node" == "v$node_major."* ]] || fail "$base_image runs node $base_node, want v$node_major"
pass "base image $base_image ready (node $base_node)"

build_image() { # <service> <target> <tag>
  local t0=$SECONDS
  podman build --isolation=chroot "${build_secret[@]}" --build-arg "NODE_IMAGE=$base_image" \
    --build-arg "SERVICE=$1" --target "$2" -t "$3" -f docker/Dockerfile . >"$work_dir/build-$1-$2.log" 2>&1 ||
    { tail -60 "$work_dir/build-$1-$2.log" >&2; fail "building $3 (target $2)"; }
  pass "built $3 in $((SECONDS - t0))s ($(podman image inspect --format '{{.Size}}' "$3" | awk '{printf "%.0f MB", $1/1e6}'))"
}

# --------------------------------------------------------------------------------------------------------
# Checks on an image's contents and configuration (no container needs to be running).
check_image_config() { # <image> <port>
  local image=$1 port=$2 env user
  env="$(podman image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$image")"
  grep -qx 'NODE_ENV=production' <<<"$env" || fail "$image: NODE_ENV=production is not set"
  grep -qx "PORT=$port" <<<"$env" || fail "$image: PORT=$port is not set"
  grep -q '^DATABASE_URL=sqlite:/data/' <<<"$env" || fail "$image: DATABASE_URL does not point into /data"
  user="$(podman image inspect --format '{{.Config.User}}' "$image")"
  [[ "$user" =~ ^[1-9][0-9]*(:[0-9]+)?$ ]] || fail "$image: USER is '$user', want a numeric non-root uid"
  podman image inspect --format '{{json .Config.ExposedPorts}}' "$image" | grep -q "\"$port/tcp\"" ||
    fail "$image: port $port is not exposed"
  podman image inspect --format '{{json .Config.Cmd}}' "$image" | grep -q -- '"--import"' ||
    fail "$image: CMD does not load the instrumentation with --import"
  # Any compiler, assembler, linker or make would mean the toolchain leaked into the runtime image.
  local found
  found="$(podman_run --rm --entrypoint sh "$image" -c \
    'for tool in gcc g++ cc c++ cpp make as ld python3; do command -v "$tool"; done; ls -d /usr/lib/gcc 2>/dev/null' || true)"
  [[ -z "$found" ]] || fail "$image: build tools present: $(echo $found)"
  local node_version
  node_version="$(podman_run --rm --entrypoint node "$image" --version)" || fail "$image: node does not run"
  [[ "$node_version" == "v$node_major."* ]] || fail "$image: runs node $node_version, want v$node_major"
  pass "$image: node $node_version, NODE_ENV=production, USER $user, EXPOSE $port, no compiler/make/python"
}

# --------------------------------------------------------------------------------------------------------
# Running containers the way the Helm chart does: non-root, read-only root, tmpfs /tmp, no capabilities.
start_container() { # <name> <volume> <image> [extra podman run args...]
  local name=$1 volume=$2 image=$3
  shift 3
  containers+=("$name")
  podman_run -d --name "$name" \
    --read-only --read-only-tmpfs=false --tmpfs /tmp:rw,nosuid,nodev,size=64m \
    --cap-drop ALL --security-opt no-new-privileges \
    -v "$volume:/data" -p 127.0.0.1::"$(container_port "$image")" \
    "$@" "$image" >/dev/null
}

container_port() { podman image inspect --format '{{.Config.Env}}' "$1" | grep -o 'PORT=[0-9]*' | cut -d= -f2; }

# The host address a container's service port is published on.
published_url() { # <container> <port>
  echo "http://$(podman port "$1" "$2/tcp" | head -1)"
}

wait_for_200() { # <url> <what> [<container serving it>]
  local deadline=$((SECONDS + PROBE_TIMEOUT_S))
  until [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" || true)" == 200 ]]; do
    ((SECONDS < deadline)) || fail "$2 ($1) did not answer 200 within ${PROBE_TIMEOUT_S}s"
    if [[ -n "${3:-}" && "$(podman inspect --format '{{.State.Running}}' "$3")" != true ]]; then
      fail "container $3 exited (code $(podman inspect --format '{{.State.ExitCode}}' "$3")) before $2 answered"
    fi
    sleep 0.5
  done
}

wait_for_probes() { # <container> <port>
  local url
  url="$(published_url "$1" "$2")"
  wait_for_200 "$url/health" "$1 liveness" "$1"
  wait_for_200 "$url/ready" "$1 readiness" "$1"
}

check_runs_confined() { # <container>
  local name=$1 uid host_pid host_uid
  uid="$(podman exec "$name" id -u)"
  [[ "$uid" != 0 ]] || fail "$name runs as root inside the container"
  host_pid="$(podman inspect --format '{{.State.Pid}}' "$name")"
  host_uid="$(awk '/^Uid:/ {print $2}' "/proc/$host_pid/status")"
  [[ "$host_uid" != 0 ]] || fail "$name's process runs as root"
  [[ "$(podman inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$name")" == true ]] ||
    fail "$name does not have a read-only root filesystem"
  # The user's own home directory is writable on a writable root filesystem: it must not be here.
  podman exec "$name" sh -c 'touch "$HOME/written-at-runtime"' 2>/dev/null &&
    fail "$name could write to its root filesystem"
  podman exec "$name" sh -c 'touch /tmp/probe && touch /data/probe && rm /tmp/probe /data/probe' ||
    fail "$name cannot write /tmp and /data"
  pass "$name: uid $uid (process uid $host_uid), read-only root, writable /tmp and /data"
}

stop_cleanly() { # <container>
  local t0=$SECONDS code
  podman stop --time 20 "$1" >/dev/null
  code="$(podman inspect --format '{{.State.ExitCode}}' "$1")"
  [[ "$code" == 0 ]] || fail "$1 exited with code $code on SIGTERM (want a graceful exit 0)"
  info "$1 stopped on SIGTERM with exit code 0 in $((SECONDS - t0))s"
}

new_volume() { # <name>
  volumes+=("$1")
  podman volume create "$1" >/dev/null
}

# --------------------------------------------------------------------------------------------------------
# Everything is built before anything runs, so containers live only as long as the run checks need.
step "building the images"
build_image learning-events runtime "$LOGGER_IMAGE"
build_image learning-events dev "$LOGGER_DEV_IMAGE"
build_image concept-mastery runtime "$BRAIN_IMAGE"

step "checking the runtime images"
check_image_config "$LOGGER_IMAGE" 8000
check_image_config "$BRAIN_IMAGE" 8001

# --------------------------------------------------------------------------------------------------------
step "running the Logger: probes and confinement"
logger="$RUN_ID-logger"
logger_volume="$RUN_ID-logger-data"
new_volume "$logger_volume"
start_container "$logger" "$logger_volume" "$LOGGER_IMAGE"
wait_for_probes "$logger" 8000
pass "$logger: /health and /ready answer 200"
check_runs_confined "$logger"

step "logging events into the Logger and keeping them across restarts"
logger_url="$(published_url "$logger" 8000)"
student="student-$RUN_ID"
ids=()
for _ in 1 2 3 4; do ids+=("$(cat /proc/sys/kernel/random/uuid)"); done
post_json() { # <url> <json> -> prints the HTTP status
  curl -s -o "$work_dir/response.json" -w '%{http_code}' --max-time 10 -H 'content-type: application/json' -d "$2" "$1"
}
status="$(post_json "$logger_url/events" "$(jq -nc --arg u "$student" --arg id "${ids[0]}" \
  '{event_id:$id, user_id:$u, event_type:"quiz_attempt", concept_id:"fractions", event_details:{score:40}}')")"
[[ "$status" == 201 ]] || fail "POST /events answered $status: $(cat "$work_dir/response.json")"
status="$(post_json "$logger_url/events/batch" "$(jq -nc --arg u "$student" \
  --arg a "${ids[1]}" --arg b "${ids[2]}" --arg c "${ids[3]}" '[
    {event_id:$a, user_id:$u, event_type:"quiz_attempt", concept_id:"fractions", event_details:{score:90}},
    {event_id:$b, user_id:$u, event_type:"video_watched", concept_id:"decimals"},
    {event_id:$c, user_id:$u, event_type:"quiz_attempt", concept_id:"decimals", event_details:{correct:true}}]')")"
[[ "$status" == 201 ]] || fail "POST /events/batch answered $status: $(cat "$work_dir/response.json")"
expected_ids="$(printf '%s\n' "${ids[@]}" | sort)"

# The student's timeline must list exactly the events logged above.
check_timeline() { # <base url> <when>
  local status stored
  status="$(curl -s -o "$work_dir/timeline.json" -w '%{http_code}' --max-time 10 "$1/events/$student")"
  [[ "$status" == 200 ]] || fail "GET /events/$student $2 answered $status"
  stored="$(jq -r '.[].event_id' "$work_dir/timeline.json" | sort)"
  [[ "$stored" == "$expected_ids" ]] ||
    fail "$2, the timeline holds [$(echo $stored)], want [$(echo $expected_ids)]"
  pass "the 4 logged events are all there $2"
}
check_timeline "$logger_url" "before any restart"

stop_cleanly "$logger"
podman start "$logger" >/dev/null
wait_for_probes "$logger" 8000
logger_url="$(published_url "$logger" 8000)"
check_timeline "$logger_url" "after stop + start of the container"

stop_cleanly "$logger"
podman rm "$logger" >/dev/null
start_container "$logger" "$logger_volume" "$LOGGER_IMAGE"
wait_for_probes "$logger" 8000
logger_url="$(published_url "$logger" 8000)"
check_timeline "$logger_url" "in a new container on the same volume"

# --------------------------------------------------------------------------------------------------------
step "running the Brain against the Logger container"
brain="$RUN_ID-brain"
brain_volume="$RUN_ID-brain-data"
new_volume "$brain_volume"
# Containers reach each other by address on podman's bridge network, as Pods do through a Service.
[[ "$(podman inspect --format '{{.State.Running}}' "$logger")" == true ]] ||
  fail "the Logger container is no longer running (exit code $(podman inspect --format '{{.State.ExitCode}}' "$logger"))"
logger_ip="$(podman inspect --format '{{.NetworkSettings.IPAddress}}' "$logger")"
[[ -n "$logger_ip" ]] || fail "cannot find the Logger container's address"
start_container "$brain" "$brain_volume" "$BRAIN_IMAGE" -e "LEARNING_EVENTS_URL=http://$logger_ip:8000"
wait_for_probes "$brain" 8001
pass "$brain: /health and /ready answer 200"
check_runs_confined "$brain"

brain_url="$(published_url "$brain" 8001)"
status="$(curl -s -o "$work_dir/recompute.json" -w '%{http_code}' --max-time 30 -X POST "$brain_url/mastery/recompute/$student")"
[[ "$status" == 200 ]] || fail "POST /mastery/recompute/$student answered $status: $(cat "$work_dir/recompute.json")"
# The recompute read the student's whole history from the Logger: the 4 events logged above.
processed="$(jq '.events_processed' "$work_dir/recompute.json")"
[[ "$processed" == 4 ]] ||
  fail "the recompute processed '$processed' events, want 4: $(cat "$work_dir/recompute.json")"
status="$(curl -s -o "$work_dir/mastery.json" -w '%{http_code}' --max-time 10 "$brain_url/mastery/$student")"
[[ "$status" == 200 ]] || fail "GET /mastery/$student answered $status: $(cat "$work_dir/mastery.json")"
# The events are about two concepts: the student has a mastery record for each.
concepts="$(jq -r '[.[].concept_id] | sort | join(",")' "$work_dir/mastery.json")"
[[ "$concepts" == "decimals,fractions" ]] ||
  fail "GET /mastery/$student lists concepts '$concepts', want decimals,fractions: $(cat "$work_dir/mastery.json")"
pass "$brain recomputed $student through the Logger container ($processed events; $(jq -r \
  'map("\(.concept_id) \(.mastery_score)") | join(", ")' "$work_dir/mastery.json"))"
stop_cleanly "$brain"

stop_cleanly "$logger"

# --------------------------------------------------------------------------------------------------------
step "dev image (Tilt live_update): a synced source change is recompiled and served"
dev="$RUN_ID-logger-dev"
dev_volume="$RUN_ID-logger-dev-data"
new_volume "$dev_volume"
containers+=("$dev")
# tsc writes dist/ in the dev image, so its root filesystem stays writable.
podman_run -d --name "$dev" --tmpfs /tmp:rw,size=64m --cap-drop ALL --security-opt no-new-privileges \
  -v "$dev_volume:/data" -p 127.0.0.1::8000 "$LOGGER_DEV_IMAGE" >/dev/null
wait_for_probes "$dev" 8000
dev_url="$(published_url "$dev" 8000)"
# Tilt syncs by streaming a tar into the container as the container's user; do the same with a changed
# main.ts, whose new statement must show up in the log of the restarted service.
marker="live-update-$RUN_ID"
mkdir -p "$work_dir/sync/services/learning-events/src"
cp services/learning-events/src/main.ts "$work_dir/sync/services/learning-events/src/main.ts"
printf '\nconsole.log(%s);\n' "'$marker'" >>"$work_dir/sync/services/learning-events/src/main.ts"
tar -C "$work_dir/sync" -c services | podman exec -i "$dev" tar -C /app -x
deadline=$((SECONDS + PROBE_TIMEOUT_S))
until podman logs "$dev" 2>&1 | grep -q "$marker"; do
  ((SECONDS < deadline)) || fail "the dev container did not pick up the synced change within ${PROBE_TIMEOUT_S}s"
  sleep 1
done
wait_for_200 "$dev_url/ready" "$dev readiness after the live update"
pass "$dev: recompiled and restarted on a synced change, /ready 200 again"

current_step="done"
