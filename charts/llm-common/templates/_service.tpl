{{/*
Services.
*/}}

{{/*
llm-common.service.service: a Service in front of one component's pods.
Parameters:
  context, component
  service     its values: type (ClusterIP), port, targetPort (a named container port, default http), portName (http),
              nodePort (type NodePort), annotations, labels
  name        optional: the object's name (default: the fullname)
  extraPorts  optional: more ServicePorts as given (e.g. a separate metrics port)
Usage: {{ include "llm-common.service.service" (dict "context" . "component" "engine" "service" .Values.service) }}
*/}}
{{- define "llm-common.service.service" -}}
{{- $ctx := .context -}}
{{- if and .service.nodePort (ne (.service.type | default "ClusterIP") "NodePort") -}}
{{- fail (printf "%s is set but %s is %s, and the chart renders a node port only for type NodePort: set %s: NodePort, or remove the nodePort" (include "llm-common.context.field" (dict "context" $ctx "field" "service.nodePort")) (include "llm-common.context.field" (dict "context" $ctx "field" "service.type")) (.service.type | default "ClusterIP") (include "llm-common.context.field" (dict "context" $ctx "field" "service.type"))) -}}
{{- end -}}
{{- $svc := .service -}}
apiVersion: v1
kind: Service
metadata:
  {{- include "llm-common.names.metadata" (dict "context" $ctx "component" .component "name" .name "labels" $svc.labels "annotations" $svc.annotations) | nindent 2 }}
spec:
  type: {{ $svc.type | default "ClusterIP" }}
  selector:
    {{- include "llm-common.labels.matchLabels" (dict "context" $ctx "component" .component) | nindent 4 }}
  ports:
    - name: {{ $svc.portName | default "http" }}
      port: {{ int $svc.port }}
      targetPort: {{ $svc.targetPort | default "http" }}
      protocol: TCP
      {{- if and (eq ($svc.type | default "ClusterIP") "NodePort") $svc.nodePort }}
      nodePort: {{ int $svc.nodePort }}
      {{- end }}
    {{- with .extraPorts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}
