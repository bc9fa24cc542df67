# shellcheck shell=bash
# Common settings and helpers of the pgcheckpoint testbed scripts (sourced).
# Everything here can be overridden through the environment.
# shellcheck disable=SC2034  # the variables are used by the scripts that source this file

set -euo pipefail

TESTBED_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$TESTBED_DIR/.." && pwd)"

# Pinned upstream versions. The kubelet must stay <= 1.34 on cgroup v1 hosts
# (1.35 refuses to start on cgroup v1). K8S_VERSION must match go.mod.
K8S_VERSION="v1.34.4"
HELM_VERSION="v3.19.5"          # must match helm/go.mod
PROMETHEUS_VERSION="v3.16.0"    # promtool; promtool/go.mod pins Go module version v0.316.0
ARGOCD_VERSION="v3.5.3"         # must match argocd-lua/go.mod
VERSITYGW_VERSION="v1.8.0"      # the engine tests' S3 server with Object Lock; must match versitygw/go.mod
DEBIAN_SUITE="bookworm"       # the host's suite: postgres:15 and the host's own PostgreSQL
PG_MAJOR="15"
# PostgreSQL majors the testbed has images of, each from the Debian suite that
# carries it (the host stays on bookworm; newer suites only inside images):
# major:suite.
PG_IMAGE_SUITES="15:bookworm 17:trixie 18:sid"
# The project's image: the suite with the newest client tools (pg_dump 18
# dumps every supported source, 13-18).
PROJECT_SUITE="${PGCK_PROJECT_SUITE:-sid}"

CACHE="${PGCK_TESTBED_CACHE:-/var/cache/pgcheckpoint-testbed}"
K8S_BIN="$CACHE/k8s-$K8S_VERSION/bin"
HELM_BIN="$CACHE/helm-$HELM_VERSION/bin"
# Tools of scripts/chart-test, keyed by a hash of their module files so that worktrees with
# different pins or sources never overwrite each other's build.
src_key() { # files... -> 12 hex digits
  cat "$@" | sha256sum | cut -c1-12
}
PROMTOOL_BIN="$CACHE/promtool-$PROMETHEUS_VERSION-$(src_key "$TESTBED_DIR/promtool/go.mod" "$TESTBED_DIR/promtool/go.sum")/bin"
ARGOCD_LUA_BIN="$CACHE/argocd-lua-$ARGOCD_VERSION-$(src_key "$TESTBED_DIR/argocd-lua/go.mod" "$TESTBED_DIR/argocd-lua/go.sum" "$TESTBED_DIR/argocd-lua/main.go")/bin"
# The engine tests find it at this path too (TestLockS3 computes the same key from the same files).
VERSITYGW_BIN="$CACHE/versitygw-$VERSITYGW_VERSION-$(src_key "$TESTBED_DIR/versitygw/go.mod" "$TESTBED_DIR/versitygw/go.sum")/bin"
IMAGE_CACHE="$CACHE/images"
KUBE_API_TEST_DIR="${KUBE_API_TEST_DIR:-$CACHE/kubeapitest}"
STATE="${PGCK_TESTBED_STATE:-/var/lib/pgcheckpoint-testbed}"
RUN_DIR="${PGCK_TESTBED_RUN:-/run/pgcheckpoint-testbed}"
KUBECONFIG_PATH="$STATE/kubeconfig"
CONTAINERD_SOCK="$RUN_DIR/containerd.sock"

# Network layout (all on this machine: a bridge and the pods' namespaces).
POD_CIDR="10.244.0.0/24"
POD_GW="10.244.0.1"
CLUSTER_CIDR="10.244.0.0/16"
SERVICE_CIDR="10.96.0.0/16"
KUBERNETES_SVC_IP="10.96.0.1"
BRIDGE="pgck0"
APISERVER_PORT="${PGCK_TESTBED_APISERVER_PORT:-6443}"
ETCD_CLIENT_PORT="${PGCK_TESTBED_ETCD_PORT:-23790}"
ETCD_PEER_PORT="${PGCK_TESTBED_ETCD_PEER_PORT:-23800}"

# Local images (never pulled: pods must use imagePullPolicy Never/IfNotPresent).
BASE_IMAGE="localhost/debian-base:$DEBIAN_SUITE"
PAUSE_IMAGE="localhost/pause:3.10"
POSTGRES_IMAGE="localhost/postgres:$PG_MAJOR"
base_image_of() { echo "localhost/debian-base:$1"; }          # suite -> image
postgres_image_of() { echo "localhost/postgres:$1"; }         # major -> image
suite_of_major() { # major -> Debian suite carrying it
  local m
  for m in $PG_IMAGE_SUITES; do [ "${m%%:*}" = "$1" ] && { echo "${m#*:}"; return; }; done
  return 1
}
pg_image_majors() { local m; for m in $PG_IMAGE_SUITES; do echo "${m%%:*}"; done; }
# Client and server binaries of the newer majors, taken from their images and
# made to run on this host (their own loader and libraries): the engine tests
# use them as sources' tools (PGCK_TEST_PG_ROOTS in testbed/env).
PG_TOOLS_DIR="$CACHE/pgtools"
PROJECT_IMAGE="${PGCK_IMAGE:-localhost/pgcheckpoint:dev}"

NODE_NAME="${PGCK_TESTBED_NODE:-pgck-node}"

log() { printf '[testbed %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

require_root() {
  [ "$(id -u)" = 0 ] || die "must run as root"
}

# Host IP the node advertises: the source address of the default route.
host_ip() {
  local ip
  ip="$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -1)"
  [ -n "$ip" ] || ip="$(hostname -I 2>/dev/null | awk '{print $1}')"
  [ -n "$ip" ] || ip=127.0.0.1
  echo "$ip"
}

# Installs the Debian packages the testbed needs, only those missing.
ensure_packages() {
  local want=(containerd runc containernetworking-plugins iptables debootstrap buildah
    openssl conntrack socat iproute2 util-linux ca-certificates curl procps patchelf
    "postgresql-$PG_MAJOR" "postgresql-client-$PG_MAJOR" python3)
  local missing=() p
  for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  command -v go >/dev/null || die "Go toolchain (>= 1.24) not found on PATH"
}

# Debian mirror that apt on this host uses (first deb.debian.org-like URI).
debian_mirror() {
  local m
  m="$(grep -rhoE '^(URIs:|deb) +[^ ]*' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
        | awk '{print $2}' | grep -E '/debian/?$' | grep -v security | head -1)"
  echo "${m:-http://deb.debian.org/debian}"
}

kctl() { "$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_PATH" "$@"; }

ctr_() { ctr --address "$CONTAINERD_SOCK" "$@"; }

pid_alive() { # name
  local f="$RUN_DIR/$1.pid"
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}
