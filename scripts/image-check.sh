#!/usr/bin/env bash
# `make image-check`: build the CalfCoach image and run it, alone and as the compose stack.
#
#  1. podman and its helpers (Debian packages), installed when missing, and its config for
#     this kind of machine (runc, cgroupfs, ulimits within the hard limits);
#     podman-compose (PyPI, pinned) into .venv
#  2. the base image: the pinned python:3.11-slim-bookworm when a registry answers, else a
#     Debian bookworm base made here with debootstrap (scripts/make-base-image.sh)
#  3. the image (podman build; torch from wheelhouse/ when pip can find the wheel locally)
#  4. the image alone (scripts/container_check.py smoke): no token -> exit 2 with the
#     BotFather hint; chat answers with its section; polling and webhook against the local
#     Bot API emulator answer; a wrong secret gets 403; SIGTERM stops it at once
#  5. the compose stack (scripts/container_check.py stack): PostgreSQL, two replicas and
#     nginx carry one conversation across both replicas and survive one replica being
#     stopped and started; postgres/nginx stand-ins from Debian's packages when the official
#     images cannot be pulled
#
# What is cached between runs on one machine: the packages, the base and stand-in images
# and podman's build layers, so a re-run after a
# code change rebuilds only the layers after it. Environment:
#   IMAGE_CHECK_PULL=0   do not try registries (the default when docker.io does not resolve)
#   IMAGE_CHECK_KEEP=1   leave the compose stack running afterwards (project calfcoach-check)
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=localhost/calfcoach:check
LOCAL_BASE=localhost/calfcoach-base:bookworm
PODMAN_COMPOSE_VERSION=1.6.0
WORK=var/image-check
# The defaults in Dockerfile and docker-compose.yml, pulled when a registry answers.
OFFICIAL_BASE="$(sed -n 's/^ARG BASE_IMAGE=//p' Dockerfile)"
OFFICIAL_POSTGRES=docker.io/library/postgres:16
OFFICIAL_NGINX=docker.io/library/nginx:1.27-alpine

started_at=$SECONDS
CHECKS="$WORK/checks.log"  # one "ok" line per passed check (scripts/container_check.py)
step() { printf '\n==> %s\n' "$*"; }
passed_count() { grep -c '^    ok ' "$CHECKS" 2>/dev/null || true; }
fail() {
  printf '\nimage-check FAILED: %s\n' "$*" >&2
  printf 'image-check: %d passed, 1 failed\n' "$(passed_count)"
  exit 1
}
took() { printf '    (%d s)\n' "$((SECONDS - $1))"; }

ensure_podman() {
  local packages=(podman runc netavark aardvark-dns debootstrap uidmap iptables)
  local missing=()
  for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" \
      || missing+=("$package")
  done
  if ((${#missing[@]})); then
    step "installing ${missing[*]} (Debian packages)"
    [[ $(id -u) == 0 ]] || fail "installing packages needs root: apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
  # This kind of machine: no crun and no systemd; runc refuses ulimits above the hard limits
  # (nproc even somewhat below them), which podman's defaults exceed. netavark named, or
  # podman also checks the CNI config its package leaves, and warns on every command.
  local conf=/etc/containers/containers.conf.d/50-calfcoach.conf
  local nofile nproc
  nofile=$(ulimit -Hn)
  nproc=$(ulimit -Hu)
  [[ $nofile == unlimited ]] && nofile=1048576
  [[ $nproc == unlimited || $nproc -gt 32768 ]] && nproc=32768
  local wanted
  wanted=$(printf '%s\n' \
    "# Written by CalfCoach's scripts/image-check.sh for this kind of machine." \
    '[containers]' \
    "default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=$nproc:$nproc\"]" \
    '[engine]' \
    'runtime = "runc"' \
    'cgroup_manager = "cgroupfs"' \
    '[network]' \
    'network_backend = "netavark"')
  if [[ ! -f $conf || "$(cat "$conf")" != "$wanted" ]]; then
    mkdir -p "$(dirname "$conf")"
    printf '%s\n' "$wanted" > "$conf"
    echo "    wrote $conf"
  fi
  if [[ ! -x .venv/bin/podman-compose ]] \
    || ! .venv/bin/podman-compose version 2>/dev/null | grep -q "$PODMAN_COMPOSE_VERSION"; then
    step "installing podman-compose==$PODMAN_COMPOSE_VERSION into .venv"
    .venv/bin/pip install -q "podman-compose==$PODMAN_COMPOSE_VERSION"
  fi
}

registry_reachable() {
  [[ ${IMAGE_CHECK_PULL:-1} != 0 ]] && getent hosts registry-1.docker.io >/dev/null 2>&1
}

# An official image when it can be pulled, else a stand-in built from Debian's packages.
image_or_standin() {
  local official=$1 standin=$2 context=$3
  if registry_reachable && timeout 300 podman pull -q "$official" >/dev/null 2>&1; then
    echo "$official"
    return
  fi
  podman build -q --format docker --build-arg "BASE_IMAGE=$LOCAL_BASE" -t "$standin" \
    "$context" >/dev/null 2>"$WORK/standin-build.log" \
    || { cat "$WORK/standin-build.log" >&2; fail "building the stand-in $standin"; }
  echo "$standin"
}

mkdir -p "$WORK"
: > "$CHECKS"
step "podman and its helpers"
t=$SECONDS
[[ -x .venv/bin/python ]] || fail ".venv is missing: run make install first"
ensure_podman
podman --version
took $t

step "the base image"
t=$SECONDS
if registry_reachable && timeout 300 podman pull -q "$OFFICIAL_BASE" >/dev/null 2>&1; then
  BASE=$OFFICIAL_BASE
  echo "    pulled $BASE"
else
  echo "    no registry reachable: a local Debian bookworm base instead"
  scripts/make-base-image.sh "$LOCAL_BASE"
  BASE=$LOCAL_BASE
fi
took $t

step "building $IMAGE"
t=$SECONDS
mkdir -p wheelhouse
if ! ls wheelhouse/torch-*.whl >/dev/null 2>&1; then
  # Where pip is set up to find a local torch wheel (this kind of machine), take it;
  # otherwise the build downloads it from TORCH_INDEX_URL.
  .venv/bin/pip download -q --no-deps --dest wheelhouse "torch==2.13.0" >/dev/null 2>&1 \
    && echo "    torch wheel from pip's local sources: $(ls wheelhouse/torch-*.whl)" \
    || echo "    no local torch wheel: the build downloads it"
fi
build_args=(--format docker --layers --build-arg "BASE_IMAGE=$BASE" -t "$IMAGE")
# pip in the build trusts what this machine trusts (a TLS-intercepting proxy's CA).
if [[ -s /etc/ssl/certs/ca-certificates.crt ]]; then
  build_args+=(--secret "id=pip_cert,src=/etc/ssl/certs/ca-certificates.crt")
fi
podman build "${build_args[@]}" . >"$WORK/build.log" 2>&1 \
  || { tail -40 "$WORK/build.log" >&2; fail "podman build (log: $WORK/build.log)"; }
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
printf '    built %s: %d MB (the base alone: %d MB)\n' "$IMAGE" "$((size / 1000000))" \
  "$(($(podman image inspect --format '{{.Size}}' "$BASE") / 1000000))"
took $t

step "the image alone, against the local Bot API emulator"
t=$SECONDS
# (podman 4.3 says on stderr, for every container with a health check, that it found no
# systemd to run it; container_check.py runs the checks itself.)
if ! .venv/bin/python scripts/container_check.py smoke "$IMAGE" \
  2> >(grep -v systemd >&2) | tee -a "$CHECKS"; then
  fail "smoke tests of the image"
fi
took $t

step "the compose stack: PostgreSQL, two replicas, nginx"
t=$SECONDS
POSTGRES=$(image_or_standin "$OFFICIAL_POSTGRES" localhost/calfcoach-postgres:standin \
  deploy/standins/postgres)
NGINX=$(image_or_standin "$OFFICIAL_NGINX" localhost/calfcoach-nginx:standin \
  deploy/standins/nginx)
echo "    postgres: $POSTGRES   nginx: $NGINX"
if ! PODMAN_COMPOSE="$PWD/.venv/bin/podman-compose" .venv/bin/python \
  scripts/container_check.py stack "$IMAGE" "$POSTGRES" "$NGINX" --work "$WORK" \
  2> >(grep -v systemd >&2) | tee -a "$CHECKS"; then
  fail "the compose stack"
fi
took $t

printf '\nimage-check passed in %d s\n' "$((SECONDS - started_at))"
printf 'image-check: %d passed, 0 failed\n' "$(passed_count)"
