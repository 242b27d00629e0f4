{{/*
llm-common.pdb: a PodDisruptionBudget for one component (pdb.enabled). Node drains then evict at most
pdb.maxUnavailable pods at a time (or keep pdb.minAvailable), so an upgrade of a GPU node pool does not take
every replica of a model down at once.
Usage: {{ include "llm-common.pdb" (dict "context" . "component" "engine") }}
*/}}
{{- define "llm-common.pdb" -}}
{{- $ctx := .context -}}
{{- $p := $ctx.Values.pdb -}}
{{- if $p.enabled -}}
{{- if and (not (kindIs "invalid" $p.minAvailable)) (not (kindIs "invalid" $p.maxUnavailable)) -}}
{{- fail "pdb: set either pdb.minAvailable or pdb.maxUnavailable, not both" -}}
{{- end -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ .name | default (include "llm-common.names.fullname" $ctx) }}
  namespace: {{ include "llm-common.names.namespace" $ctx }}
  labels:
    {{- include "llm-common.labels.standard" (dict "context" $ctx "component" .component) | nindent 4 }}
spec:
  {{- if not (kindIs "invalid" $p.minAvailable) }}
  minAvailable: {{ $p.minAvailable }}
  {{- else }}
  maxUnavailable: {{ $p.maxUnavailable | default 1 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "llm-common.labels.matchLabels" (dict "context" $ctx "component" .component) | nindent 6 }}
{{- end -}}
{{- end -}}

{{/*
llm-common.networkPolicy: ingress to one component's pods only on its serving port, from networkPolicy.ingressFrom
(NetworkPolicyPeers; default: pods of the same namespace), plus networkPolicy.metricsFrom for Prometheus.
Egress is left open: engines download weights from the Hub or object storage.
Usage: {{ include "llm-common.networkPolicy" (dict "context" . "component" "engine" "port" 8000) }}
*/}}
{{- define "llm-common.networkPolicy" -}}
{{- $ctx := .context -}}
{{- $np := $ctx.Values.networkPolicy -}}
{{- if $np.enabled -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ .name | default (include "llm-common.names.fullname" $ctx) }}
  namespace: {{ include "llm-common.names.namespace" $ctx }}
  labels:
    {{- include "llm-common.labels.standard" (dict "context" $ctx "component" .component) | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "llm-common.labels.matchLabels" (dict "context" $ctx "component" .component) | nindent 6 }}
  policyTypes:
    - Ingress
  ingress:
    - ports:
        - port: {{ int .port }}
          protocol: TCP
      from:
        {{- toYaml ($np.ingressFrom | default (list (dict "podSelector" dict))) | nindent 8 }}
        {{- with $np.metricsFrom }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
{{- end -}}
{{- end -}}
