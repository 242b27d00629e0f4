#!/usr/bin/env bash
# Create (or reuse) the kind cluster for the cluster e2e tests: a control plane, worker nodes that look like GPU
# nodes (an NVIDIA pool and an AMD pool: GPU capacity, GPU Feature Discovery style labels and the GPU taint, see
# scripts/kind-gpu-mock.sh) and a plain CPU worker, so GPU pods schedule exactly as on a real cluster and
# everything else stays off the GPU nodes, and the CRDs our charts render (scripts/kind-crds.sh: pinned, sha256-checked).
#
#   scripts/kind-create.sh [--name NAME] [--image NODE_IMAGE] [--nvidia-workers N] [--amd-workers N]
#                          [--cpu-workers N] [--gpu-mock patch|fake-gpu-operator|none] [--crds fetch|DIR|none] [--recreate]
#   scripts/kind-create.sh --delete [--name NAME]
#
# Defaults: --name llm-charts (context kind-llm-charts), 1 NVIDIA + 1 AMD + 1 CPU worker, --gpu-mock patch,
# --crds fetch (scripts/kind-crds.sh fetch into a temporary directory, then install; --crds DIR installs a fetched
# DIR/crds; LLMCHARTS_CRD_SKIP_GROUPS leaves groups to an operator's chart). Needs Docker, kind and kubectl (the
# pinned .tools/bin/kubectl when present).
# The node image is kind v0.32.0's default, pinned by digest (Kubernetes 1.35, inside the supported 1.30-1.37).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

name="${KIND_CLUSTER_NAME:-llm-charts}"
image="${KIND_NODE_IMAGE:-kindest/node:v1.35.0@sha256:452d707d4862f52530247495d180205e029056831160e22870e37e3f6c1ac31f}"
nvidia_workers=1
amd_workers=1
cpu_workers=1
gpu_mock="patch"
crds=fetch
recreate=0
delete=0

usage() { sed -n '2,/^set /{/^#/p}' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "kind-create: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --name) name="$2"; shift 2 ;;
    --image) image="$2"; shift 2 ;;
    --nvidia-workers) nvidia_workers="$2"; shift 2 ;;
    --amd-workers) amd_workers="$2"; shift 2 ;;
    --cpu-workers) cpu_workers="$2"; shift 2 ;;
    --gpu-mock) gpu_mock="$2"; shift 2 ;;
    --crds) crds="$2"; shift 2 ;;
    --recreate) recreate=1; shift ;;
    --delete) delete=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

command -v kind >/dev/null || die "kind is not on PATH (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)"
docker info >/dev/null 2>&1 || die "the Docker daemon is not reachable (docker info failed); kind runs its nodes as Docker containers"
kubectl=kubectl
if [ -x "$root/.tools/bin/kubectl" ]; then kubectl="$root/.tools/bin/kubectl"; fi
command -v "$kubectl" >/dev/null || die "kubectl is not on PATH (scripts/bootstrap installs the pinned one in .tools/bin)"
context="kind-$name"

exists() { kind get clusters 2>/dev/null | grep -qx "$name"; }

if [ "$delete" = 1 ]; then
  if exists; then kind delete cluster --name "$name"; else echo "kind-create: no cluster $name"; fi
  exit 0
fi
if [ "$recreate" = 1 ] && exists; then kind delete cluster --name "$name"; fi

if exists; then
  echo "kind-create: reusing cluster $name (--recreate to start over)"
else
  config="$(mktemp)"
  trap 'rm -f "$config"' EXIT
  {
    echo "kind: Cluster"
    echo "apiVersion: kind.x-k8s.io/v1alpha4"
    echo "nodes:"
    echo "  - role: control-plane"
    # The pool label tells scripts/kind-gpu-mock.sh which workers to turn into GPU nodes.
    for pool in nvidia amd cpu; do
      case "$pool" in nvidia) n="$nvidia_workers" ;; amd) n="$amd_workers" ;; *) n="$cpu_workers" ;; esac
      for _ in $(seq 1 "$n"); do
        echo "  - role: worker"
        echo "    labels:"
        echo "      llm-charts.io/kind-pool: $pool"
      done
    done
  } > "$config"
  kind create cluster --name "$name" --image "$image" --config "$config" --wait 180s
fi

"$kubectl" --context "$context" wait --for=condition=Ready node --all --timeout=180s >/dev/null

if [ "$gpu_mock" != none ]; then
  KUBECTL_CONTEXT="$context" "$root/scripts/kind-gpu-mock.sh" --mode "$gpu_mock"
fi

if [ "$crds" = fetch ]; then
  fetched="$(mktemp -d)"
  "$root/scripts/kind-crds.sh" fetch "$fetched"
  crds="$fetched/crds"
fi
if [ "$crds" != none ]; then
  [ -d "$crds" ] || die "no CRD directory $crds (scripts/kind-crds.sh fetch DIR, then --crds DIR/crds)"
  KUBECTL_CONTEXT="$context" "$root/scripts/kind-crds.sh" install "$crds"
fi

echo "kind-create: cluster $name ready (kubectl context $context)"
"$kubectl" --context "$context" get nodes -L llm-charts.io/kind-pool,nvidia.com/gpu.product,amd.com/gpu.product-name
