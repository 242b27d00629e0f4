{{/*
llm-common.serviceMonitor: a prometheus-operator ServiceMonitor scraping the component's Service.
Usage: {{ include "llm-common.serviceMonitor" (dict "context" . "component" "engine") }}
Values read: metrics.serviceMonitor.{enabled, namespace, interval, scrapeTimeout, path, labels, relabelings,
metricRelabelings}, service.portName. Optional "port": the Service port name to scrape instead of service.portName.
*/}}
{{- define "llm-common.serviceMonitor" -}}
{{- $ctx := .context -}}
{{- $sm := $ctx.Values.metrics.serviceMonitor -}}
{{- if $sm.enabled -}}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ .name | default (include "llm-common.names.fullname" $ctx) }}
  namespace: {{ $sm.namespace | default (include "llm-common.names.namespace" $ctx) }}
  labels:
    {{- include "llm-common.labels.standard" (dict "context" $ctx "component" .component) | nindent 4 }}
    {{- with $sm.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  jobLabel: app.kubernetes.io/name
  namespaceSelector:
    matchNames:
      - {{ include "llm-common.names.namespace" $ctx }}
  selector:
    matchLabels:
      {{- include "llm-common.labels.matchLabels" (dict "context" $ctx "component" .component) | nindent 6 }}
  endpoints:
    - port: {{ .port | default $ctx.Values.service.portName | default "http" }}
      path: {{ $sm.path | default "/metrics" }}
      interval: {{ $sm.interval | default "15s" }}
      scrapeTimeout: {{ $sm.scrapeTimeout | default "10s" }}
      {{- with $sm.relabelings }}
      relabelings:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $sm.metricRelabelings }}
      metricRelabelings:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}
{{- end -}}
