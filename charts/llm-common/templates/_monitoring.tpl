{{/*
Monitoring: prometheus-operator ServiceMonitors and PodMonitors.

Values read (schemas/metrics.schema.yaml): metrics.serviceMonitor / metrics.podMonitor with {enabled, namespace,
interval, scrapeTimeout, path, labels, relabelings, metricRelabelings}.
*/}}

{{/*
llm-common.monitoring.serviceMonitor: a ServiceMonitor scraping the component's Service (metrics.serviceMonitor).
Parameters:
  context, component
  port   optional: the Service port name to scrape (default service.portName, else http)
  name   optional: the object's name (default: the fullname)
Usage: {{ include "llm-common.monitoring.serviceMonitor" (dict "context" . "component" "engine") }}
*/}}
{{- define "llm-common.monitoring.serviceMonitor" -}}
{{- $ctx := .context -}}
{{- $port := .port | default ($ctx.Values.service | default dict).portName | default "http" -}}
{{- include "llm-common.monitoring.monitor" (dict "context" $ctx "kind" "ServiceMonitor" "monitor" $ctx.Values.metrics.serviceMonitor "field" "metrics.serviceMonitor" "component" .component "port" $port "name" .name) -}}
{{- end -}}

{{/*
llm-common.monitoring.podMonitor: a PodMonitor scraping every pod of the release on a named container port
(metrics.podMonitor), for charts whose pods export metrics without a Service of their own (Ray's per-node agent).
Parameters: context, component (of the PodMonitor itself), port (the container port name), name (optional)
Usage: {{ include "llm-common.monitoring.podMonitor" (dict "context" . "component" "ray" "port" "metrics") }}
*/}}
{{- define "llm-common.monitoring.podMonitor" -}}
{{- include "llm-common.monitoring.monitor" (dict "context" .context "kind" "PodMonitor" "monitor" .context.Values.metrics.podMonitor "field" "metrics.podMonitor" "component" .component "port" .port "name" .name) -}}
{{- end -}}

{{/*
llm-common.monitoring.monitor: what a ServiceMonitor and a PodMonitor share, when "monitor" (their values) is enabled:
the object in the monitoring.coreos.com/v1 API, in monitor.namespace or the release's, selecting the component's
Service (ServiceMonitor) or every pod of the release (PodMonitor) in the release namespace, with one endpoint.
Its scrapeTimeout may not exceed its interval: Prometheus refuses such a scrape config ("scrape timeout greater
than scrape interval", prometheus config/config.go ScrapeConfig.Validate), so the operator's config would not load.
Parameters: context, kind (ServiceMonitor | PodMonitor), monitor (the values), field (their value path, for errors),
component, port, name (optional)
Usage: {{ include "llm-common.monitoring.monitor" (dict "context" . "kind" "PodMonitor" "monitor" .Values.metrics.podMonitor "component" "ray" "port" "metrics") }}
*/}}
{{- define "llm-common.monitoring.monitor" -}}
{{- $ctx := .context -}}
{{- $m := .monitor -}}
{{- if $m.enabled -}}
{{- $pods := eq .kind "PodMonitor" -}}
{{- $interval := include "llm-common.quantity.seconds" (dict "context" $ctx "value" ($m.interval | default "15s") "field" (printf "%s.interval" .field)) | float64 -}}
{{- $timeout := include "llm-common.quantity.seconds" (dict "context" $ctx "value" ($m.scrapeTimeout | default "10s") "field" (printf "%s.scrapeTimeout" .field)) | float64 -}}
{{- if gt $timeout $interval -}}
{{- fail (printf "%s: %s is above %s (%s); Prometheus refuses a scrape timeout greater than the interval: lower it, or raise the interval" (include "llm-common.context.field" (dict "context" $ctx "field" (printf "%s.scrapeTimeout" .field))) ($m.scrapeTimeout | default "10s") (include "llm-common.context.field" (dict "context" $ctx "field" (printf "%s.interval" .field))) ($m.interval | default "15s")) -}}
{{- end -}}
apiVersion: monitoring.coreos.com/v1
kind: {{ .kind }}
metadata:
  {{- include "llm-common.names.metadata" (dict "context" $ctx "component" .component "name" .name "namespace" $m.namespace "labels" $m.labels) | nindent 2 }}
spec:
  jobLabel: app.kubernetes.io/name
  namespaceSelector:
    matchNames:
      - {{ include "llm-common.names.namespace" (dict "context" $ctx) | quote }}
  selector:
    matchLabels:
      {{- include "llm-common.labels.matchLabels" (dict "context" $ctx "component" (ternary "" .component $pods)) | nindent 6 }}
  {{ ternary "podMetricsEndpoints" "endpoints" $pods }}:
    - port: {{ .port }}
      path: {{ $m.path | default "/metrics" }}
      interval: {{ $m.interval | default "15s" }}
      scrapeTimeout: {{ $m.scrapeTimeout | default "10s" }}
      {{- with $m.relabelings }}
      relabelings:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $m.metricRelabelings }}
      metricRelabelings:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}
{{- end -}}
