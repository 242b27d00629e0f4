#!/usr/bin/env bash
# `ct install` (chart-testing) over every chart's ci/*-values.yaml on the kind cluster of scripts/kind-create.sh:
# for each values file ct runs `helm install --wait`, then `helm test` (the chart's llm-common.tests.openaiPod hook).
#
#   scripts/kind-ct-install.sh [CHART...]      default: every chart that has tests/kind/ct/<chart>.yaml
#
# The ci/ files describe GPU production installs (CUDA images, 8B+ models, GPU products, hostPath weights). ct
# applies tests/kind/ct/<chart>.yaml after each of them (--helm-extra-set-args "--values=..."): a CPU-capable
# engine image, a small public model and runner-sized resources, while the GPU counts, GPU products, Services,
# monitors, autoscalers and policies of each ci file stay as they are (the mock GPU nodes carry the products the ci
# files select). tests/kind/test_kind_values.py checks offline that every ci file + overlay renders, validates
# and fits those nodes.
# Each chart installs into namespace ct-<chart>. Secrets the ci files reference are created there first, with
# random values, from the overlay's "# ct-secret: NAME KEY" header lines (e.g. the API key the test hook sends).
# Needs ct, helm (v3) and kubectl on PATH, and the kind cluster (KUBECTL_CONTEXT, default kind-llm-charts).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

die() { echo "kind-ct-install: $*" >&2; exit 1; }
context="${KUBECTL_CONTEXT:-kind-${KIND_CLUSTER_NAME:-llm-charts}}"
command -v ct >/dev/null || die "ct (chart-testing) is not on PATH (GitHub: helm/chart-testing-action)"
command -v helm >/dev/null || die "helm is not on PATH (ct runs it; link .tools/bin/helm3 as helm)"
command -v kubectl >/dev/null || die "kubectl is not on PATH"
kubectl config use-context "$context" >/dev/null || die "no kubectl context $context (run scripts/kind-create.sh)"

charts=("$@")
if [ "${#charts[@]}" -eq 0 ]; then
  for overlay in tests/kind/ct/*.yaml; do
    [ -e "$overlay" ] || continue
    charts+=("$(basename "$overlay" .yaml)")
  done
fi
[ "${#charts[@]}" -gt 0 ] || die "no tests/kind/ct/<chart>.yaml overlay: nothing to install"

skipped=()
for chart in "${charts[@]}"; do
  overlay="tests/kind/ct/$chart.yaml"
  [ -f "charts/$chart/Chart.yaml" ] || die "no chart charts/$chart"
  if [ ! -f "$overlay" ]; then
    skipped+=("$chart")
    continue
  fi
  ns="ct-$chart"
  kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  while read -r _ _ secret key; do
    [ -n "$secret" ] && [ -n "$key" ] || die "$overlay: a ct-secret line needs NAME and KEY"
    kubectl -n "$ns" create secret generic "$secret" --from-literal="$key=$(openssl rand -hex 16)" \
      --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  done < <(grep '^# ct-secret:' "$overlay" || true)
  echo "kind-ct-install: ct install charts/$chart (namespace $ns, overlay $overlay)"
  ct install --config ct.yaml --charts "charts/$chart" --namespace "$ns" \
    --helm-extra-set-args "--values=$overlay"
done

if [ "${#skipped[@]}" -gt 0 ]; then
  echo "kind-ct-install: not installed (no tests/kind/ct/<chart>.yaml overlay): ${skipped[*]}"
fi
