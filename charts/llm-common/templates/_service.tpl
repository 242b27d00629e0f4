{{/*
llm-common.service: a Service in front of one component's pods.
Usage: {{ include "llm-common.service" (dict "context" . "component" "engine" "service" .Values.service) }}
"service" reads: type (ClusterIP), port, targetPort (a named container port, default http), portName (http),
annotations, labels. Optional "extraPorts": more ServicePorts as given (e.g. a separate metrics port).
*/}}
{{- define "llm-common.service" -}}
{{- $ctx := .context -}}
{{- $svc := .service -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ .name | default (include "llm-common.names.fullname" $ctx) }}
  namespace: {{ include "llm-common.names.namespace" $ctx }}
  labels:
    {{- include "llm-common.labels.standard" (dict "context" $ctx "component" .component) | nindent 4 }}
    {{- with $svc.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $svc.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
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

{{/*
llm-common.serviceAccount: the ServiceAccount object when serviceAccount.create. Engines need no Kubernetes API
access, so the token is not mounted unless serviceAccount.automountToken is true.
*/}}
{{- define "llm-common.serviceAccount" -}}
{{- if .Values.serviceAccount.create -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "llm-common.names.serviceAccountName" . }}
  namespace: {{ include "llm-common.names.namespace" . }}
  labels:
    {{- include "llm-common.labels.standard" (dict "context" .) | nindent 4 }}
  {{- with .Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountToken | default false }}
{{- end -}}
{{- end -}}
