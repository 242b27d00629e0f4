#!/usr/bin/env bash
# What to look at when a cluster e2e run fails: nodes (GPU capacity, labels, taints), every pod, recent events,
# and for each pod outside kube-system that is not Ready (or has restarted) its description and logs.
#
#   scripts/kind-diagnostics.sh [NAMESPACE...]     default: every namespace
#
# KUBECTL_CONTEXT picks the kubectl context. Never fails: it only prints.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kubectl_bin=kubectl
if [ -x "$root/.tools/bin/kubectl" ]; then kubectl_bin="$root/.tools/bin/kubectl"; fi
k() {
  if [ -n "${KUBECTL_CONTEXT:-}" ]; then "$kubectl_bin" --context "$KUBECTL_CONTEXT" "$@"; else "$kubectl_bin" "$@"; fi
}
section() { printf '\n===== %s\n' "$*"; }

section "nodes"
k get nodes -o wide -L llm-charts.io/kind-pool,nvidia.com/gpu.product,amd.com/gpu.product-name
k get nodes -o custom-columns='NODE:.metadata.name,NVIDIA:.status.allocatable.nvidia\.com/gpu,AMD:.status.allocatable.amd\.com/gpu,CPU:.status.allocatable.cpu,MEMORY:.status.allocatable.memory,TAINTS:.spec.taints[*].key'
section "pods"
k get pods -A -o wide

namespaces=("$@")
if [ "${#namespaces[@]}" -eq 0 ]; then
  mapfile -t namespaces < <(k get namespaces -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | grep -vE '^(kube-system|kube-public|kube-node-lease|local-path-storage)$')
fi
for ns in "${namespaces[@]}"; do
  section "events in $ns"
  k -n "$ns" get events --sort-by=.lastTimestamp | tail -n 40
  # pod name, Ready condition, total restarts
  while read -r pod ready restarts; do
    [ -n "$pod" ] || continue
    if [ "$ready" = True ] && [ "${restarts:-0}" = 0 ]; then continue; fi
    section "pod $ns/$pod (ready=$ready, restarts=$restarts)"
    k -n "$ns" describe pod "$pod" | tail -n 60
    k -n "$ns" logs "$pod" --all-containers --tail=200 --prefix || true
    k -n "$ns" logs "$pod" --all-containers --tail=100 --prefix --previous 2>/dev/null || true
  done < <(k -n "$ns" get pods -o jsonpath='{range .items[*]}{.metadata.name}{"|"}{.status.conditions[?(@.type=="Ready")].status}{"|"}{.status.containerStatuses[*].restartCount}{"\n"}{end}' \
    | awk -F'|' '{n = split($3, r, " "); s = 0; for (i = 1; i <= n; i++) s += r[i]; print $1, ($2 == "" ? "False" : $2), s}')
done
exit 0
