#!/usr/bin/env bash
# The CRDs our charts render (KServe, KubeRay, LeaderWorkerSet, Gateway API Inference Extension, Gateway API HTTPRoute, prometheus-operator,
# KEDA), pinned to upstream release tags and verified by sha256, so a machine with nothing but the repository gets
# exactly what the harness validates against.
#
#   scripts/kind-crds.sh fetch DIR      put the pinned files in DIR/crds and DIR/crds-compat (downloaded, or copied
#                                       from a local mirror $LLMCHARTS_CRD_SOURCE when set and the hash matches);
#                                       then: LLMCHARTS_CRD_DIRS=DIR/crds:DIR/crds-compat .ci/run
#   scripts/kind-crds.sh install DIR    apply every CRD under DIR (e.g. DIR/crds of a fetch) to the current cluster
#                                       (KUBECTL_CONTEXT picks a context) and wait until they are established;
#                                       LLMCHARTS_CRD_SKIP_GROUPS (space-separated API groups) leaves some out, for
#                                       an operator chart that installs its own (KServe's kserve-crd)
#   scripts/kind-crds.sh list           print the pinned table
# LLMCHARTS_CRD_OFFLINE=1 refuses to download (a missing or altered file is then an error).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# set/path | upstream repository | tag | path at the tag | sha256
PINNED="
crds/serving.kserve.io/serving.kserve.io_servingruntimes.yaml|kserve/kserve|v0.20.0|config/crd/full/serving.kserve.io_servingruntimes.yaml|380a3e1e1444cef9b8b88819596692728868205a2147dc66423be469a4a7bbb1
crds/serving.kserve.io/serving.kserve.io_clusterservingruntimes.yaml|kserve/kserve|v0.20.0|config/crd/full/serving.kserve.io_clusterservingruntimes.yaml|c6f6bbb1b4b11afd1e38bd6d7255a8795b86efa2b7d14946ccff9d23592e6846
crds/serving.kserve.io/serving.kserve.io_inferenceservices.yaml|kserve/kserve|v0.20.0|config/crd/full/serving.kserve.io_inferenceservices.yaml|57c3bf13f77de94678bf2ae3748056ec071ad2b9e88d6a28f44fb4710758fcff
crds/serving.kserve.io/serving.kserve.io_llminferenceservices.yaml|kserve/kserve|v0.20.0|config/crd/full/llmisvc/serving.kserve.io_llminferenceservices.yaml|4377745d253c5c6407ccd46aecdfadcea160ba77a0976dd2d112f0ca9a1ac53f
crds/serving.kserve.io/serving.kserve.io_llminferenceserviceconfigs.yaml|kserve/kserve|v0.20.0|config/crd/full/llmisvc/serving.kserve.io_llminferenceserviceconfigs.yaml|b25e19597ef22638deee22111c097d42ad62da58c25f1ef4a529f4cef1c93c2a
crds/ray.io/ray.io_rayclusters.yaml|ray-project/kuberay|v1.7.0|ray-operator/config/crd/bases/ray.io_rayclusters.yaml|c44704442eef0c6721ad40c1d66782c8bd3fdab9d3344306a5820910a679baa1
crds/ray.io/ray.io_rayservices.yaml|ray-project/kuberay|v1.7.0|ray-operator/config/crd/bases/ray.io_rayservices.yaml|0a8fc325e6e22b9231c1f282b309555e2ecf94227ca20a03df3d1d9a403907ab
crds/ray.io/ray.io_rayjobs.yaml|ray-project/kuberay|v1.7.0|ray-operator/config/crd/bases/ray.io_rayjobs.yaml|01a5cf3b17c1769fda44af7e82debcd98722f0c27b9ab84d084681c6649121f5
crds/leaderworkerset.x-k8s.io/leaderworkerset.x-k8s.io_leaderworkersets.yaml|kubernetes-sigs/lws|v0.10.0|config/crd/bases/leaderworkerset.x-k8s.io_leaderworkersets.yaml|c5dcad8ed943e495490241f00b9a1b45d51203b6d484020db3636d5bf553568e
crds/inference.networking.k8s.io/inference.networking.k8s.io_inferencepools.yaml|kubernetes-sigs/gateway-api-inference-extension|v1.6.0|config/crd/bases/inference.networking.k8s.io_inferencepools.yaml|55e0dbf39c50c4bbdd60106493a4573df4bb44479f9ce46762f1af718883e5cd
crds/inference.networking.x-k8s.io/inference.networking.x-k8s.io_inferencepools.yaml|kubernetes-sigs/gateway-api-inference-extension|v1.4.0|config/crd/bases/inference.networking.x-k8s.io_inferencepools.yaml|449c5135bf65fdef2f5b925cc1632c0ac23f75e0e1f77aa6e21caadc4703f1e3
crds/monitoring.coreos.com/monitoring.coreos.com_servicemonitors.yaml|prometheus-operator/prometheus-operator|v0.93.0|example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml|a99047972c9dd7679ce2050b9968e8a08773492e671b3e17abd476d42aa78a32
crds/monitoring.coreos.com/monitoring.coreos.com_podmonitors.yaml|prometheus-operator/prometheus-operator|v0.93.0|example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml|45a93443daa687d3654f7e9631909ff7edcdf3ec09c5e60251b74aa2722aee5d
crds/keda.sh/keda.sh_scaledobjects.yaml|kedacore/keda|v2.20.2|config/crd/bases/keda.sh_scaledobjects.yaml|af35555862a83933b074af14ad439c4b4ceabaf4daa3e9338e9b23e36d308d80
crds/gateway.networking.k8s.io/gateway.networking.k8s.io_httproutes.yaml|kubernetes-sigs/gateway-api|v1.6.1|config/crd/standard/gateway.networking.k8s.io_httproutes.yaml|a424a0d6c953b162e71d1d97bb7e75012d8f1ac264e7274f2763d1b96ab39852
crds-compat/serving.kserve.io@v0.15.2/serving.kserve.io_servingruntimes.yaml|kserve/kserve|v0.15.2|config/crd/full/serving.kserve.io_servingruntimes.yaml|361eb7b56c3335e114cec9edc22ca1b40029cf0d487dad5a366baccaf3c66cd6
crds-compat/serving.kserve.io@v0.15.2/serving.kserve.io_clusterservingruntimes.yaml|kserve/kserve|v0.15.2|config/crd/full/serving.kserve.io_clusterservingruntimes.yaml|2f81f42bcc4949664e1d983712a9f16d60f8befe45a1993a934d4b952ad7f2b3
crds-compat/serving.kserve.io@v0.15.2/serving.kserve.io_inferenceservices.yaml|kserve/kserve|v0.15.2|config/crd/full/serving.kserve.io_inferenceservices.yaml|43bcb3aef9c6308135ef122f48800230058b710eae98c26ff03da29940525e4e
crds-compat/ray.io@v1.3.2/ray.io_rayclusters.yaml|ray-project/kuberay|v1.3.2|ray-operator/config/crd/bases/ray.io_rayclusters.yaml|fe2dc05df802e2aa2f1940c0f102bd0ad47887bdf50b9fb86dab8f86c90cdab2
crds-compat/ray.io@v1.3.2/ray.io_rayservices.yaml|ray-project/kuberay|v1.3.2|ray-operator/config/crd/bases/ray.io_rayservices.yaml|95d57238ca86e3201091b7ab53cda7bce9a7d27d69daebe2717b2f54a3a94e3f
crds-compat/ray.io@v1.3.2/ray.io_rayjobs.yaml|ray-project/kuberay|v1.3.2|ray-operator/config/crd/bases/ray.io_rayjobs.yaml|9af092f002f272f2cf77696bed0a8ece01be36d271e174c4fb26ece343cec2d9
"

usage() { sed -n '2,/^set /{/^#/p}' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "kind-crds: $*" >&2; exit 1; }

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

kubectl_cmd() {
  local bin=kubectl
  if [ -x "$root/.tools/bin/kubectl" ]; then bin="$root/.tools/bin/kubectl"; fi
  if [ -n "${KUBECTL_CONTEXT:-}" ]; then "$bin" --context "$KUBECTL_CONTEXT" "$@"; else "$bin" "$@"; fi
}

fetch() {
  local out="$1" source="${LLMCHARTS_CRD_SOURCE:-}"
  local dest repo tag path sha target tmp copied=0 downloaded=0
  while IFS='|' read -r dest repo tag path sha; do
    [ -n "$dest" ] || continue
    target="$out/$dest"
    mkdir -p "$(dirname "$target")"
    if [ -f "$target" ] && [ "$(sha_of "$target")" = "$sha" ]; then continue; fi
    if [ -n "$source" ] && [ -f "$source/$dest" ] && [ "$(sha_of "$source/$dest")" = "$sha" ]; then
      cp "$source/$dest" "$target"
      copied=$((copied + 1))
      continue
    fi
    [ "${LLMCHARTS_CRD_OFFLINE:-0}" != 1 ] || die "$dest: not in ${source:-(no LLMCHARTS_CRD_SOURCE)} with sha256 $sha, and LLMCHARTS_CRD_OFFLINE=1 forbids downloading it"
    tmp="$target.part"
    curl -fsSL --retry 3 --connect-timeout 15 -o "$tmp" "https://raw.githubusercontent.com/$repo/$tag/$path" \
      || die "$dest: download of $repo@$tag:$path failed"
    [ "$(sha_of "$tmp")" = "$sha" ] || { rm -f "$tmp"; die "$dest: sha256 of $repo@$tag:$path is not $sha"; }
    mv "$tmp" "$target"
    downloaded=$((downloaded + 1))
  done <<< "$PINNED"
  echo "kind-crds: $out/crds and $out/crds-compat ready ($copied copied, $downloaded downloaded, all sha256-verified)"
}

install() {
  local dir="${1:-}" files=() group
  [ -n "$dir" ] && [ -d "$dir" ] || die "no CRD directory '$dir' (run: scripts/kind-crds.sh fetch DIR, then install DIR/crds)"
  mapfile -t files < <(find "$dir" -name '*.yaml' | sort)
  for group in ${LLMCHARTS_CRD_SKIP_GROUPS:-}; do
    mapfile -t files < <(printf '%s\n' "${files[@]}" | grep -v "/$group/" || true)
  done
  [ "${#files[@]}" -gt 0 ] || die "no *.yaml under $dir"
  local f
  for f in "${files[@]}"; do
    # Server-side apply: the KServe CRDs are larger than the 256 KiB last-applied annotation of a client-side apply.
    kubectl_cmd apply --server-side --force-conflicts -f "$f" >/dev/null
  done
  kubectl_cmd wait --for=condition=Established --timeout=120s crd --all >/dev/null
  echo "kind-crds: ${#files[@]} CRDs from $dir installed and established"
}

case "${1:-}" in
  fetch) [ $# -eq 2 ] || die "usage: scripts/kind-crds.sh fetch DIR"; fetch "$2" ;;
  install) shift; install "$@" ;;
  list) printf '%s\n' "$PINNED" | sed '/^$/d' ;;
  -h|--help) usage ;;
  *) usage >&2; exit 2 ;;
esac
