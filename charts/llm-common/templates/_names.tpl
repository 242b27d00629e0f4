{{/*
Names. Kubernetes object names are DNS labels: at most 63 characters, so names are truncated and stripped of a
trailing "-".
*/}}

{{/*
llm-common.names.name: the chart name, or .Values.nameOverride.
Usage: {{ include "llm-common.names.name" (dict "context" .) }}
*/}}
{{- define "llm-common.names.name" -}}
{{- default .context.Chart.Name .context.Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
llm-common.names.fullname: "<release>-<chart>", or .Values.fullnameOverride; the release name alone when it
already contains the chart name (so `helm install vllm charts/vllm` gives "vllm", not "vllm-vllm").
Usage: {{ include "llm-common.names.fullname" (dict "context" .) }}
*/}}
{{- define "llm-common.names.fullname" -}}
{{- $ctx := .context -}}
{{- if $ctx.Values.fullnameOverride -}}
{{- $ctx.Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default $ctx.Chart.Name $ctx.Values.nameOverride -}}
{{- if contains $name $ctx.Release.Name -}}
{{- $ctx.Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" $ctx.Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.names.componentFullname: "<fullname>-<component>", for charts that render several workloads; over 63
characters, the fullname is cut and a 5-character hash of it added, so that names stay unique.
Usage: {{ include "llm-common.names.componentFullname" (dict "context" . "component" "gateway") }}
*/}}
{{- define "llm-common.names.componentFullname" -}}
{{- $base := include "llm-common.names.fullname" (dict "context" .context) -}}
{{- $full := printf "%s-%s" $base .component -}}
{{- if le (len $full) 63 -}}
{{- $full -}}
{{- else -}}
{{- /* Cut, the names of two releases (or two subcharts of one umbrella release) with a long common prefix would be
the same: a hash of the whole fullname keeps them apart. */ -}}
{{- printf "%s-%s-%s" ($base | trunc (int (sub 56 (len .component))) | trimSuffix "-") (sha256sum $base | trunc 5) .component -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.names.chart: "<chart>-<version>" for the helm.sh/chart label ("+" is not allowed in label values).
Usage: {{ include "llm-common.names.chart" (dict "context" .) }}
*/}}
{{- define "llm-common.names.chart" -}}
{{- printf "%s-%s" .context.Chart.Name .context.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
llm-common.names.namespace: the release namespace, or .Values.namespaceOverride.
Usage: {{ include "llm-common.names.namespace" (dict "context" .) }}
*/}}
{{- define "llm-common.names.namespace" -}}
{{- default .context.Release.Namespace .context.Values.namespaceOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
llm-common.names.serviceAccountName: the ServiceAccount the pods run as.
serviceAccount.create=true: serviceAccount.name or the fullname; false: serviceAccount.name or "default".
Usage: {{ include "llm-common.names.serviceAccountName" (dict "context" .) }}
*/}}
{{- define "llm-common.names.serviceAccountName" -}}
{{- $sa := .context.Values.serviceAccount | default dict -}}
{{- if $sa.create -}}
{{- default (include "llm-common.names.fullname" (dict "context" .context)) $sa.name -}}
{{- else -}}
{{- default "default" $sa.name -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.names.metadata: an object's name, namespace and labels (llm-common.labels.standard), and its annotations
when it has any: the body of its "metadata:" key.
Parameters:
  context      the component context
  component    app.kubernetes.io/component (optional)
  name         the object's name (default: the fullname)
  namespace    optional: another namespace (a ServiceMonitor living beside Prometheus), or false for a
               cluster-scoped object
  labels       optional: more labels (a map); the standard keys win, so selectors stay stable
  annotations  optional: a map
Usage: metadata: {{- include "llm-common.names.metadata" (dict "context" . "component" "engine") | nindent 2 }}
*/}}
{{- define "llm-common.names.metadata" -}}
name: {{ .name | default (include "llm-common.names.fullname" (dict "context" .context)) | quote }}
{{- if not (kindIs "bool" .namespace) }}
namespace: {{ .namespace | default (include "llm-common.names.namespace" (dict "context" .context)) | quote }}
{{- end }}
labels:
  {{- toYaml (merge (include "llm-common.labels.standard" (dict "context" .context "component" .component) | fromYaml) (.labels | default dict)) | nindent 2 }}
{{- with .annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end -}}
{{- end -}}

{{/*
llm-common.names.servedNames: fails unless the model names clients send as "model" are routable: each one token
(no white space or control characters: the gateway matches the request's "model" exactly, and a name with a
space cannot be typed into most clients and breaks log lines and metric labels) and each served exactly once
(two claims on one name split its traffic between different models, or hide an adapter behind an alias).
"names" is a list of {name, field}: field is the value that set the name, so errors say what to change. The vllm
chart checks its own names (served name, aliases, adapters); the llm-stack umbrella checks every engine's.
Usage: {{- include "llm-common.names.servedNames" (dict "context" . "names" (list (dict "name" "llama" "field" "model.servedModelName"))) -}}
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
