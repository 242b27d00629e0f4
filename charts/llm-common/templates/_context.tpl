{{/*
llm-common.context.component: fills .out with a template context for one component of a chart whose values for
that component sit under a key (the umbrella's gateway, a Ray worker group, ...). The llm-common helpers read
.Values.<area>; in this context .Values is the component's values laid over the release-wide ones (global,
name overrides, common labels, pull secrets), so every helper works unchanged, and .fieldPrefix makes their
error messages name the component's value paths (e.g. "gateway.probes.startup.budgetSeconds").
Optional "shared": more release-wide keys the component inherits (e.g. "drain" "modelStorage" for Ray groups).
Usage: {{- $ctx := dict -}}{{- include "llm-common.context.component" (dict "root" . "values" .Values.gateway "fieldPrefix" "gateway." "out" $ctx) -}}
*/}}
{{- define "llm-common.context.component" -}}
{{- $root := .root -}}
{{- $keys := concat (list "global" "nameOverride" "fullnameOverride" "namespaceOverride" "commonLabels" "imagePullSecrets") (.shared | default list) -}}
{{- $base := dict -}}
{{- range $keys -}}{{- if hasKey $root.Values . -}}{{- $_ := set $base . (get $root.Values .) -}}{{- end -}}{{- end -}}
{{- $_ := set .out "Values" (mergeOverwrite (deepCopy $base) (deepCopy (.values | default dict))) -}}
{{- $_ := set .out "Chart" $root.Chart -}}
{{- $_ := set .out "Release" $root.Release -}}
{{- $_ := set .out "Capabilities" $root.Capabilities -}}
{{- $_ := set .out "Template" $root.Template -}}
{{- $_ := set .out "fieldPrefix" (.fieldPrefix | default "") -}}
{{- end -}}
