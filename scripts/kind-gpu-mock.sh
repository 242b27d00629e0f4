#!/usr/bin/env bash
# Make worker nodes look like GPU nodes to the scheduler, without GPUs: the extended resource in the node's
# capacity, GPU Feature Discovery style labels and the GPU taint. Pods requesting nvidia.com/gpu (amd.com/gpu)
# then schedule, or stay Pending, exactly as on a real GPU node pool; the containers see no GPU devices, so run a
# CPU engine image (vLLM's CPU build) or a simulator in them.
#
#   scripts/kind-gpu-mock.sh [--mode patch|fake-gpu-operator]
#
# Nodes: those labelled llm-charts.io/kind-pool=nvidia (or =amd), as scripts/kind-create.sh creates them; label
# nodes of any other cluster the same way to use this there. KUBECTL_CONTEXT picks the kubectl context.
# Modes:
#   patch              (default) PATCH the node status: capacity and allocatable get the GPU resource. The kubelet
#                      keeps extended resources it does not manage ("Advertise Extended Resources for a Node").
#   fake-gpu-operator  NVIDIA pool only: run:ai's fake-gpu-operator chart (a device plugin that advertises fake GPUs
#                      through the kubelet, plus its own node labels); needs helm and access to ghcr.io.
# Settings (env): NVIDIA_GPU_PRODUCT (NVIDIA-H100-80GB-HBM3), NVIDIA_GPU_COUNT (4), NVIDIA_GPU_MEMORY (81559, MiB),
#   AMD_GPU_PRODUCT (AMD_Instinct_MI300X_OAM, the AMD node labeller's value), AMD_GPU_COUNT (4), FAKE_GPU_OPERATOR_VERSION (0.1.0).
# The products match the GPU products that charts/*/ci values select, so their nodeSelectors are exercised too.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

mode="patch"
nvidia_product="${NVIDIA_GPU_PRODUCT:-NVIDIA-H100-80GB-HBM3}"
nvidia_count="${NVIDIA_GPU_COUNT:-4}"
nvidia_memory="${NVIDIA_GPU_MEMORY:-81559}"
amd_product="${AMD_GPU_PRODUCT:-AMD_Instinct_MI300X_OAM}"
amd_count="${AMD_GPU_COUNT:-4}"
fgo_version="${FAKE_GPU_OPERATOR_VERSION:-0.1.0}"

usage() { sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "kind-gpu-mock: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --mode) mode="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
case "$mode" in patch|fake-gpu-operator) ;; *) die "--mode must be patch or fake-gpu-operator, not $mode" ;; esac

kubectl_bin=kubectl
if [ -x "$root/.tools/bin/kubectl" ]; then kubectl_bin="$root/.tools/bin/kubectl"; fi
helm_bin=helm
if [ -x "$root/.tools/bin/helm3" ]; then helm_bin="$root/.tools/bin/helm3"; fi
k() {
  if [ -n "${KUBECTL_CONTEXT:-}" ]; then "$kubectl_bin" --context "$KUBECTL_CONTEXT" "$@"; else "$kubectl_bin" "$@"; fi
}

pool_nodes() { k get nodes -l "llm-charts.io/kind-pool=$1" -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}'; }

# The GPU taint of GPU node pools: pods without a toleration stay off the node.
taint() { k taint node "$1" "$2=present:NoSchedule" --overwrite >/dev/null; }

# capacity and allocatable of the node status; "~1" is "/" in a JSON pointer.
patch_capacity() {
  local node="$1" resource="$2" count="$3" pointer
  pointer="${resource//\//~1}"
  k patch node "$node" --subresource=status --type=json -p \
    "[{\"op\":\"add\",\"path\":\"/status/capacity/$pointer\",\"value\":\"$count\"},{\"op\":\"add\",\"path\":\"/status/allocatable/$pointer\",\"value\":\"$count\"}]" >/dev/null
}

wait_allocatable() {
  local node="$1" resource="$2" count="$3" got="" i
  for i in $(seq 1 90); do
    got="$(k get node "$node" -o jsonpath="{.status.allocatable.${resource//./\\.}}")"
    [ "$got" = "$count" ] && return 0
    [ "$i" = 90 ] || sleep 2
  done
  die "node $node: allocatable $resource is '${got}' after 180s, expected $count"
}

mapfile -t nvidia_nodes < <(pool_nodes nvidia)
mapfile -t amd_nodes < <(pool_nodes amd)
[ "${#nvidia_nodes[@]}" -gt 0 ] || [ "${#amd_nodes[@]}" -gt 0 ] \
  || die "no node is labelled llm-charts.io/kind-pool=nvidia or =amd (scripts/kind-create.sh creates them)"

for node in "${nvidia_nodes[@]}"; do
  # GPU Feature Discovery's labels (product, count, memory in MiB) and NFD's gpu.present.
  k label node "$node" --overwrite >/dev/null \
    nvidia.com/gpu.present=true "nvidia.com/gpu.product=$nvidia_product" \
    "nvidia.com/gpu.count=$nvidia_count" "nvidia.com/gpu.memory=$nvidia_memory"
  taint "$node" nvidia.com/gpu
  if [ "$mode" = patch ]; then
    patch_capacity "$node" nvidia.com/gpu "$nvidia_count"
  else
    k label node "$node" run.ai/simulated-gpu-node-pool=default --overwrite >/dev/null
  fi
done

if [ "$mode" = fake-gpu-operator ] && [ "${#nvidia_nodes[@]}" -gt 0 ]; then
  k create namespace gpu-operator --dry-run=client -o yaml | k apply -f - >/dev/null
  # Its device plugin and exporters mount host paths.
  k label namespace gpu-operator pod-security.kubernetes.io/enforce=privileged --overwrite >/dev/null
  kube_args=()
  if [ -n "${KUBECTL_CONTEXT:-}" ]; then kube_args=(--kube-context "$KUBECTL_CONTEXT"); fi
  "$helm_bin" "${kube_args[@]}" upgrade --install gpu-operator oci://ghcr.io/run-ai/fake-gpu-operator/fake-gpu-operator \
    --version "$fgo_version" --namespace gpu-operator --wait --timeout 10m \
    --set-string "topology.nodePools.default.gpuProduct=$nvidia_product" \
    --set "topology.nodePools.default.gpuCount=$nvidia_count" \
    --set "topology.nodePools.default.gpuMemory=$nvidia_memory"
fi

for node in "${amd_nodes[@]}"; do
  # The AMD device plugin's node labeller names the product amd.com/gpu.product-name.
  k label node "$node" --overwrite >/dev/null "amd.com/gpu.product-name=$amd_product" "amd.com/gpu.count=$amd_count"
  taint "$node" amd.com/gpu
  patch_capacity "$node" amd.com/gpu "$amd_count"
done

for node in "${nvidia_nodes[@]}"; do wait_allocatable "$node" nvidia.com/gpu "$nvidia_count"; done
for node in "${amd_nodes[@]}"; do wait_allocatable "$node" amd.com/gpu "$amd_count"; done
echo "kind-gpu-mock ($mode): ${#nvidia_nodes[@]} node(s) x $nvidia_count nvidia.com/gpu ($nvidia_product), ${#amd_nodes[@]} node(s) x $amd_count amd.com/gpu ($amd_product), tainted NoSchedule"
