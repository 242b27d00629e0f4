{{/*
Names. Every helper here takes the chart's root context (`.`).
Kubernetes object names are DNS labels: at most 63 characters, so names are truncated and stripped of a trailing "-".
*/}}

{{/*
llm-common.names.name: the chart name, or .Values.nameOverride.
Usage: {{ include "llm-common.names.name" . }}
*/}}
{{- define "llm-common.names.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
llm-common.names.fullname: "<release>-<chart>", or .Values.fullnameOverride; the release name alone when it
already contains the chart name (so `helm install vllm charts/vllm` gives "vllm", not "vllm-vllm").
Usage: {{ include "llm-common.names.fullname" . }}
*/}}
{{- define "llm-common.names.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.names.componentFullname: "<fullname>-<component>", for charts that render several workloads.
Usage: {{ include "llm-common.names.componentFullname" (dict "context" . "component" "gateway") }}
*/}}
{{- define "llm-common.names.componentFullname" -}}
{{- $base := include "llm-common.names.fullname" .context -}}
{{- printf "%s-%s" ($base | trunc (int (sub 62 (len .component)))) .component | trimSuffix "-" -}}
{{- end -}}

{{/*
llm-common.names.chart: "<chart>-<version>" for the helm.sh/chart label ("+" is not allowed in label values).
*/}}
{{- define "llm-common.names.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
llm-common.names.namespace: the release namespace, or .Values.namespaceOverride.
*/}}
{{- define "llm-common.names.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
llm-common.names.serviceAccountName: the ServiceAccount the pods run as.
serviceAccount.create=true: serviceAccount.name or the fullname; false: serviceAccount.name or "default".
*/}}
{{- define "llm-common.names.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "llm-common.names.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.names.servedNames: fails unless the model names clients send as "model" are routable: each one token
(no white space or control characters: the gateway matches the request's "model" exactly, and a name with a
space cannot be typed into most clients and breaks log lines and metric labels) and each served exactly once
(two claims on one name split its traffic between different models, or hide an adapter behind an alias).
"names" is a list of {name, field}: field is the value that set the name, so errors say what to change. The vllm
chart checks its own names (served name, aliases, adapters); the llm-stack umbrella checks every engine's.
Usage: {{- include "llm-common.names.servedNames" (dict "names" (list (dict "name" "llama" "field" "model.servedModelName"))) -}}
*/}}
{{- define "llm-common.names.servedNames" -}}
{{- $seen := dict -}}
{{- range .names -}}
{{- if not .name -}}
{{- fail (printf "%s: empty model name; set a name the gateway can route by" .field) -}}
{{- end -}}
{{- if not (regexMatch "^[^\\s\\p{Cc}]+$" (toString .name)) -}}
{{- fail (printf "%s: %q cannot be routed: a model name is matched exactly against the request's \"model\" and must be one token (no spaces or control characters); e.g. %q" .field .name (regexReplaceAll "[\\s\\p{Cc}]+" (toString .name) "-")) -}}
{{- end -}}
{{- if hasKey $seen (toString .name) -}}
{{- fail (printf "%s: model name %q is also served as %s; each name must have exactly one backend: rename one of them" .field .name (get $seen (toString .name))) -}}
{{- end -}}
{{- $_ := set $seen (toString .name) .field -}}
{{- end -}}
{{- end -}}
