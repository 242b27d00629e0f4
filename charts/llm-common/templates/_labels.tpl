{{/*
Labels: the standard app.kubernetes.io/* set (https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/).
*/}}

{{/*
llm-common.labels.standard: labels for every object's metadata.
Usage: {{ include "llm-common.labels.standard" (dict "context" . "component" "engine") }}
"component" is optional. .Values.commonLabels and .Values.global.commonLabels are added; they cannot
override the standard keys, so selectors stay stable.
*/}}
{{- define "llm-common.labels.standard" -}}
{{- $ctx := .context -}}
{{- $std := include "llm-common.labels.matchLabels" (dict "context" .context "component" .component) | fromYaml -}}
{{- $_ := set $std "app.kubernetes.io/managed-by" $ctx.Release.Service -}}
{{- $_ := set $std "app.kubernetes.io/part-of" "llm-stack" -}}
{{- $_ := set $std "helm.sh/chart" (include "llm-common.names.chart" (dict "context" .context)) -}}
{{- with $ctx.Chart.AppVersion -}}
{{- $_ := set $std "app.kubernetes.io/version" (. | replace "+" "_" | trunc 63 | trimSuffix "-") -}}
{{- end -}}
{{- $extra := merge (dict) ($ctx.Values.commonLabels | default dict) ((($ctx.Values.global | default dict).commonLabels) | default dict) -}}
{{- toYaml (merge $std $extra) -}}
{{- end -}}

{{/*
llm-common.labels.matchLabels: the immutable subset used in selectors (name, instance, component).
Usage: {{ include "llm-common.labels.matchLabels" (dict "context" . "component" "engine") }}
*/}}
{{- define "llm-common.labels.matchLabels" -}}
app.kubernetes.io/name: {{ include "llm-common.names.name" (dict "context" .context) | quote }}
app.kubernetes.io/instance: {{ .context.Release.Name | quote }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end -}}
