{{/*
Autoscaling on the engine's queue, not on CPU: an LLM pod's CPU is idle while its GPUs are saturated, and the
number of requests waiting for a batch slot is what grows when a replica is full.

Values read (schemas/autoscaling.schema.yaml):
  autoscaling.enabled, .type (hpa | keda), .minReplicas, .maxReplicas
  autoscaling.metric.name            the engine's Prometheus metric, e.g. vllm:num_requests_waiting
  autoscaling.metric.targetAverage   per-pod target of that metric
  autoscaling.hpa.metricName         name the custom-metrics adapter serves (default: metric.name)
  autoscaling.hpa.behavior           HPA behavior (default: scale down slowly; a new replica costs a model load)
  autoscaling.keda.serverAddress, .query, .pollingInterval, .cooldownPeriod
*/}}

{{/*
llm-common.autoscaling.hpa: an autoscaling/v2 HorizontalPodAutoscaler on a Pods metric (served by a
custom-metrics adapter such as prometheus-adapter), for autoscaling.type=hpa.
Usage: {{ include "llm-common.autoscaling.hpa" (dict "context" . "component" "engine" "target" (dict "apiVersion" "apps/v1" "kind" "Deployment" "name" $name)) }}
*/}}
{{- define "llm-common.autoscaling.hpa" -}}
{{- $ctx := .context -}}
{{- $a := $ctx.Values.autoscaling -}}
{{- if and $a.enabled (eq $a.type "hpa") -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
{{ include "llm-common.autoscaling.head" (dict "context" .context "component" .component "target" .target) }}
  minReplicas: {{ int $a.minReplicas }}
  maxReplicas: {{ int $a.maxReplicas }}
  metrics:
    - type: Pods
      pods:
        metric:
          name: {{ ($a.hpa | default dict).metricName | default $a.metric.name | quote }}
        target:
          type: AverageValue
          averageValue: {{ $a.metric.targetAverage | toString | quote }}
  behavior:
    {{- toYaml (($a.hpa | default dict).behavior | default (dict "scaleUp" (dict "stabilizationWindowSeconds" 0 "policies" (list (dict "type" "Pods" "value" 1 "periodSeconds" 60))) "scaleDown" (dict "stabilizationWindowSeconds" 600 "policies" (list (dict "type" "Pods" "value" 1 "periodSeconds" 300))))) | nindent 4 }}
{{- end -}}
{{- end -}}

{{/*
llm-common.autoscaling.scaledObject: a KEDA ScaledObject with a Prometheus trigger, for autoscaling.type=keda.
The default query is the per-pod average of autoscaling.metric.name over this release's pods.
Usage: {{ include "llm-common.autoscaling.scaledObject" (dict "context" . "component" "engine" "target" (dict "apiVersion" "apps/v1" "kind" "Deployment" "name" $name)) }}
*/}}
{{- define "llm-common.autoscaling.scaledObject" -}}
{{- $ctx := .context -}}
{{- $a := $ctx.Values.autoscaling -}}
{{- if and $a.enabled (eq $a.type "keda") -}}
{{- $k := $a.keda | default dict -}}
{{- $ns := include "llm-common.names.namespace" (dict "context" $ctx) -}}
{{- $query := $k.query | default (printf "avg(%s{namespace=%q, pod=~%q})" $a.metric.name $ns (printf "%s-.*" .target.name)) -}}
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
{{ include "llm-common.autoscaling.head" (dict "context" .context "component" .component "target" .target) }}
  minReplicaCount: {{ int $a.minReplicas }}
  maxReplicaCount: {{ int $a.maxReplicas }}
  pollingInterval: {{ int ($k.pollingInterval | default 15) }}
  # A new replica costs a model load: keep it for a while after the queue empties.
  cooldownPeriod: {{ int ($k.cooldownPeriod | default 600) }}
  triggers:
    - type: prometheus
      metadata:
        serverAddress: {{ required (printf "%s is required when %s is keda (the Prometheus URL KEDA queries)" (include "llm-common.context.field" (dict "context" $ctx "field" "autoscaling.keda.serverAddress")) (include "llm-common.context.field" (dict "context" $ctx "field" "autoscaling.type"))) $k.serverAddress | quote }}
        query: {{ $query | quote }}
        threshold: {{ $a.metric.targetAverage | toString | quote }}
{{- end -}}
{{- end -}}

{{/*
llm-common.autoscaling.head: what an HPA and a ScaledObject share: metadata (named after the target) and the spec's
scaleTargetRef, after checking minReplicas <= maxReplicas. Renders "metadata:" and "spec:" with scaleTargetRef; the
caller continues the spec at an indent of 2.
Usage: {{ include "llm-common.autoscaling.head" (dict "context" . "component" "engine" "target" $target) }}
*/}}
{{- define "llm-common.autoscaling.head" -}}
{{- $ctx := .context -}}
{{- $a := $ctx.Values.autoscaling -}}
{{- if gt (int $a.minReplicas) (int $a.maxReplicas) -}}
{{- fail (printf "%s (%d) must not exceed %s (%d)" (include "llm-common.context.field" (dict "context" $ctx "field" "autoscaling.minReplicas")) (int $a.minReplicas) (include "llm-common.context.field" (dict "context" $ctx "field" "autoscaling.maxReplicas")) (int $a.maxReplicas)) -}}
{{- end -}}
metadata:
  {{- include "llm-common.names.metadata" (dict "context" $ctx "component" .component "name" .target.name) | nindent 2 }}
spec:
  scaleTargetRef:
    apiVersion: {{ .target.apiVersion }}
    kind: {{ .target.kind }}
    name: {{ .target.name | quote }}
{{- end -}}
