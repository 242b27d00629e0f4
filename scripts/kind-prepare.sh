#!/usr/bin/env bash
# What a chart needs on the kind cluster of scripts/kind-create.sh before it installs: the operators (from their
# published Helm charts, pinned) and the images we build (loaded into the kind nodes). A chart's needs are the
# "# operators:" and "# images:" lines of tests/kind/ct/<chart>.yaml.
#
#   scripts/kind-prepare.sh CHART...            operators and images for these charts
#   scripts/kind-prepare.sh operator NAME...    one operator: cert-manager, kserve, kuberay, kwok
#   scripts/kind-prepare.sh image NAME...       build images/NAME and load it into the kind nodes
#   scripts/kind-prepare.sh --list              what it knows ("operator NAME VERSION", "image NAME TAG")
#
# Versions (inside the ranges the README claims): KServe v0.20.0 (kserve-crd + kserve-resources, Standard mode,
# with cert-manager v1.17.0 as KServe's own install scripts use), KubeRay v1.7.0 (kuberay-operator), kwok 0.2.0
# (kwok + stage-fast charts, controller v0.7.0). KIND_CLUSTER_NAME names the cluster (default llm-charts);
# KUBECTL_CONTEXT defaults to kind-<name>. Needs helm (the pinned .tools/bin/helm3 when present), docker and kind.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

name="${KIND_CLUSTER_NAME:-llm-charts}"
context="${KUBECTL_CONTEXT:-kind-$name}"
helm_bin=helm
if [ -x .tools/bin/helm3 ]; then helm_bin=.tools/bin/helm3; fi

CERT_MANAGER_VERSION=v1.17.0
KSERVE_VERSION=v0.20.0
KUBERAY_VERSION=1.7.0
KWOK_CHART_VERSION=0.2.0
# images/<name> -> the tag the charts or overlays use (the gateway: the llm-stack chart's default image)
GATEWAY_TAG="ghcr.io/llm-charts/vllm-router:$(sed -n 's/^vllm-router==//p' requirements-router.txt)"
RAY_LLM_CPU_TAG=docker.io/llm-charts/ray-llm-cpu:2.60.0-cpu

die() { echo "kind-prepare: $*" >&2; exit 1; }
h() { "$helm_bin" --kube-context "$context" "$@"; }

operator() {
  case "$1" in
    cert-manager)
      h upgrade --install cert-manager cert-manager --repo https://charts.jetstack.io --version "$CERT_MANAGER_VERSION" \
        --namespace cert-manager --create-namespace --set crds.enabled=true --wait --timeout 10m ;;
    kserve)
      operator cert-manager
      h upgrade --install kserve-crd oci://ghcr.io/kserve/charts/kserve-crd --version "$KSERVE_VERSION" \
        --namespace kserve --create-namespace --wait --timeout 10m
      # Standard (raw Deployment) mode, no Knative; no Ingress either (kind has no ingress controller).
      h upgrade --install kserve-resources oci://ghcr.io/kserve/charts/kserve-resources --version "$KSERVE_VERSION" \
        --namespace kserve --set kserve.version="$KSERVE_VERSION" --set kserve.controller.deploymentMode=Standard \
        --set kserve.controller.gateway.disableIngressCreation=true --wait --timeout 15m ;;
    kuberay)
      h upgrade --install kuberay-operator kuberay-operator --repo https://ray-project.github.io/kuberay-helm/ \
        --version "$KUBERAY_VERSION" --namespace ray-system --create-namespace --wait --timeout 10m ;;
    kwok)
      h upgrade --install kwok kwok --repo https://kwok.sigs.k8s.io/charts/ --version "$KWOK_CHART_VERSION" \
        --namespace kube-system --wait --timeout 10m
      h upgrade --install kwok-stage-fast stage-fast --repo https://kwok.sigs.k8s.io/charts/ \
        --version "$KWOK_CHART_VERSION" --namespace kube-system --wait --timeout 5m ;;
    *) die "unknown operator $1 (see --list)" ;;
  esac
  echo "kind-prepare: operator $1 installed"
}

image() {
  local tag
  case "$1" in
    gateway) tag="$GATEWAY_TAG" ;;
    ray-llm-cpu) tag="$RAY_LLM_CPU_TAG" ;;
    *) die "unknown image $1 (see --list)" ;;
  esac
  [ -f "images/$1/Dockerfile" ] || die "no images/$1/Dockerfile"
  docker build -t "$tag" "images/$1"
  kind load docker-image "$tag" --name "$name"
  echo "kind-prepare: image $tag built and loaded into $name"
}

needs() {  # the words of one "# KEY:" header line of a chart's overlay
  local overlay="tests/kind/ct/$1.yaml"
  [ -f "$overlay" ] || die "no overlay $overlay"
  sed -n "s/^# $2: //p" "$overlay" | tr ' ' '\n' | sed '/^$/d'
}

case "${1:-}" in
  --list)
    printf 'operator %s %s\n' cert-manager "$CERT_MANAGER_VERSION" kserve "$KSERVE_VERSION" kuberay "$KUBERAY_VERSION" \
      kwok "$KWOK_CHART_VERSION"
    printf 'image %s %s\n' gateway "$GATEWAY_TAG" ray-llm-cpu "$RAY_LLM_CPU_TAG" ;;
  operator) shift; for o in "$@"; do operator "$o"; done ;;
  image) shift; for i in "$@"; do image "$i"; done ;;
  ""|-h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' ;;
  *)
    for chart in "$@"; do
      while read -r o; do operator "$o"; done < <(needs "$chart" operators)
      while read -r i; do image "$i"; done < <(needs "$chart" images)
    done ;;
esac
