{{/*
Policies: disruption budgets and network policies of one component.
*/}}

{{/*
llm-common.policy.pdb: a PodDisruptionBudget for one component (pdb.enabled). Node drains then evict at most
pdb.maxUnavailable pods at a time (or keep pdb.minAvailable), so an upgrade of a GPU node pool does not take
every replica of a model down at once.
Parameters: context, component, name (optional: the object's name, default the fullname)
Usage: {{ include "llm-common.policy.pdb" (dict "context" . "component" "engine") }}
*/}}
{{- define "llm-common.policy.pdb" -}}
{{- $ctx := .context -}}
{{- $p := $ctx.Values.pdb -}}
{{- if $p.enabled -}}
{{- if and (not (kindIs "invalid" $p.minAvailable)) (not (kindIs "invalid" $p.maxUnavailable)) -}}
{{- $min := include "llm-common.context.field" (dict "context" $ctx "field" "pdb.minAvailable") -}}
{{- $max := include "llm-common.context.field" (dict "context" $ctx "field" "pdb.maxUnavailable") -}}
{{- fail (printf "%s: set either %s or %s, not both (a PodDisruptionBudget takes one): keep %s and set %s: null, or the other way round" $min $min $max $min $max) -}}
{{- end -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  {{- include "llm-common.names.metadata" (dict "context" $ctx "component" .component "name" .name) | nindent 2 }}
spec:
  {{- if not (kindIs "invalid" $p.minAvailable) }}
  minAvailable: {{ $p.minAvailable }}
  {{- else }}
  maxUnavailable: {{ ternary 1 $p.maxUnavailable (kindIs "invalid" $p.maxUnavailable) }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "llm-common.labels.matchLabels" (dict "context" $ctx "component" .component) | nindent 6 }}
{{- end -}}
{{- end -}}

{{/*
llm-common.policy.networkPolicy: ingress to one component's pods only on its ports (networkPolicy.enabled).
Parameters:
  context, component, name (optional: the object's name, default the fullname)
  port           the serving port, open to networkPolicy.ingressFrom (NetworkPolicyPeers); when that list is empty:
                 pods of the same namespace, or any source with "anySource": true (a front door such as the
                 gateway, reached from Ingress controllers in other namespaces)
  metricsPort    optional: a separate metrics port, open to networkPolicy.metricsFrom (default: the same
                 namespace); without it, networkPolicy.metricsFrom peers may reach the serving port (engines serve
                 /metrics there)
Egress is left open: engines download weights from the Hub or object storage.
Usage: {{ include "llm-common.policy.networkPolicy" (dict "context" . "component" "engine" "port" 8000) }}
*/}}
{{- define "llm-common.policy.networkPolicy" -}}
{{- $ctx := .context -}}
{{- $np := $ctx.Values.networkPolicy -}}
{{- $sameNamespace := list (dict "podSelector" dict) -}}
{{- $peers := $np.ingressFrom | default list -}}
{{- $open := and .anySource (empty $peers) -}}
{{- if and (empty $peers) (not $open) -}}{{- $peers = $sameNamespace -}}{{- end -}}
{{- if not .metricsPort -}}{{- $peers = concat $peers ($np.metricsFrom | default list) -}}{{- end -}}
{{- if $np.enabled -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  {{- include "llm-common.names.metadata" (dict "context" $ctx "component" .component "name" .name) | nindent 2 }}
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
      {{- if not $open }}
      from:
        {{- toYaml $peers | nindent 8 }}
      {{- end }}
    {{- if .metricsPort }}
    - ports:
        - port: {{ int .metricsPort }}
          protocol: TCP
      from:
        {{- toYaml ($np.metricsFrom | default $sameNamespace) | nindent 8 }}
    {{- end }}
{{- end -}}
{{- end -}}
