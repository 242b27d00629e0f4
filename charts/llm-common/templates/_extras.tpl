{{/*
Extras: the escape hatches every chart offers for what it does not model, read once here (schemas/extras.schema.yaml):
extraVolumes and extraVolumeMounts (llm-common.workload.podSpecFields and containerTail add them), initContainers
and sidecars (as given, after the chart's own), and extraObjects (any manifest, rendered with tpl). Each item is
passed through as given: the rendered objects are validated strictly like the chart's own.
*/}}

{{/*
llm-common.extras.initContainers: the pod's "initContainers:" key from .Values.initContainers (as given, after the
"own" ones the chart renders), or nothing when there are none.
Parameters: context, own (optional list of the chart's own init containers, maps)
Usage: {{- include "llm-common.extras.initContainers" (dict "context" .) | nindent 6 }}
*/}}
{{- define "llm-common.extras.initContainers" -}}
{{- $all := concat (.own | default list) (.context.Values.initContainers | default list) -}}
{{- with $all }}
initContainers:
  {{- toYaml . | nindent 2 }}
{{- end -}}
{{- end -}}

{{/*
llm-common.extras.sidecars: .Values.sidecars as YAML list items (containers after the chart's own), or nothing.
Fails when a sidecar takes the name of a container the chart renders ("names").
Parameters: context, names (optional list of the chart's container names)
Usage: containers: {{- include "vllm.container" . | nindent 2 }}{{- include "llm-common.extras.sidecars" (dict "context" . "names" (list "vllm")) | nindent 2 }}
*/}}
{{- define "llm-common.extras.sidecars" -}}
{{- $ctx := .context -}}
{{- $names := .names | default list -}}
{{- range $i, $c := ($ctx.Values.sidecars | default list) -}}
{{- if has (toString $c.name) $names -}}
{{- fail (printf "%s: a container named %q is rendered by the chart; give the sidecar another name" (include "llm-common.context.field" (dict "context" $ctx "field" (printf "sidecars[%d].name" $i))) (toString $c.name)) -}}
{{- end -}}
{{- end -}}
{{- with $ctx.Values.sidecars }}
{{ toYaml . }}
{{- end -}}
{{- end -}}

{{/*
llm-common.extras.objects: .Values.extraObjects as YAML documents, each rendered with tpl (a map, or a string holding
a manifest), so that an item may use the release's values and names, e.g. {{ .Release.Name }}; each carries the
standard labels (component "extra"), its own labels winning.
Usage: {{ include "llm-common.extras.objects" (dict "context" .) }}
*/}}
{{- define "llm-common.extras.objects" -}}
{{- $ctx := .context -}}
{{- range $i, $o := ($ctx.Values.extraObjects | default list) }}
{{- $obj := tpl (ternary $o (toYaml $o) (kindIs "string" $o)) $ctx | fromYaml -}}
{{- if or (hasKey $obj "Error") (not (kindIs "map" $obj.metadata)) -}}
{{- fail (printf "%s: not a Kubernetes object with metadata (%s)" (include "llm-common.context.field" (dict "context" $ctx "field" (printf "extraObjects[%d]" $i))) ($obj.Error | default "no metadata")) -}}
{{- end -}}
{{- $_ := set $obj.metadata "labels" (merge (include "llm-common.labels.standard" (dict "context" $ctx "component" "extra") | fromYaml) ($obj.metadata.labels | default dict)) }}
---
{{ toYaml $obj }}
{{- end -}}
{{- end -}}
