{{/*
Contexts: the one calling convention of every llm-common helper.

Every helper takes a dict with the template context under "context", plus named parameters only where it really
needs them (Bitnami's style):
  {{ include "llm-common.<area>.<name>" (dict "context" $ctx ...) }}
$ctx is the chart's root context (`.`), or a component context made by llm-common.context.component for values that
sit under a key of the chart's values (the umbrella's gateway, a Ray group, one KServe InferenceService). A context
carries .Values, .Chart, .Release, .Capabilities and .Template, as the root context does, plus:
  .fieldPrefix   where the component's own values sit in the user's values file, e.g. "gateway." (root: none)
  .inherited     the keys it took from its parent context (global, name overrides, ...), each mapped to the prefix the
                 parent names that key with ("" for the release's own values)
so that an error names the value the user has to change, as the user wrote it (llm-common.context.field).
*/}}

{{/*
llm-common.context.component: fills .out with the context of one component. Its .Values are the parent's release-wide
keys (global, name overrides, commonLabels, imagePullSecrets, and those in "shared"), with the component's values laid
over them (maps merged key by key, the component winning), so every helper reads the component's values from .Values
unchanged.
Parameters:
  context      the parent context (required)
  values       the component's values (a map)
  fieldPrefix  their path in the user's values file, e.g. "gateway." or "inferenceServices[0]."
  shared       more keys the component inherits (e.g. "drain" "modelStorage" for Ray groups; every key of the parent
               for a KServe InferenceService, whose values are the top level's with its own laid over them)
  out          a dict to fill: Helm defines return text, so the context is handed back through it
Usage: {{- $g := dict -}}{{- include "llm-common.context.component" (dict "context" . "values" .Values.gateway "fieldPrefix" "gateway." "out" $g) -}}
*/}}
{{- define "llm-common.context.component" -}}
{{- $parent := .context -}}
{{- $keys := concat (list "global" "nameOverride" "fullnameOverride" "namespaceOverride" "commonLabels" "imagePullSecrets") (.shared | default list) -}}
{{- $base := dict -}}
{{- $inherited := dict -}}
{{- range $keys -}}
{{- if hasKey $parent.Values . -}}
{{- $_ := set $base . (get $parent.Values .) -}}
{{- $_ := set $inherited . (include "llm-common.context.prefix" (dict "context" $parent "key" .)) -}}
{{- end -}}
{{- end -}}
{{- $own := .values | default dict -}}
{{- range $k, $_ := $own -}}{{- $_ := unset $inherited $k -}}{{- end -}}
{{- $_ := set .out "Values" (mergeOverwrite (deepCopy $base) (deepCopy $own)) -}}
{{- $_ := set .out "Chart" $parent.Chart -}}
{{- $_ := set .out "Release" $parent.Release -}}
{{- $_ := set .out "Capabilities" $parent.Capabilities -}}
{{- $_ := set .out "Template" $parent.Template -}}
{{- $_ := set .out "fieldPrefix" (.fieldPrefix | default "") -}}
{{- $_ := set .out "inherited" $inherited -}}
{{- end -}}

{{/*
llm-common.context.prefix: the prefix a context names one of its top-level value keys with: the parent's for an
inherited key, else the context's fieldPrefix ("" in a chart's root context).
Usage: {{ include "llm-common.context.prefix" (dict "context" $ctx "key" "accelerator") }}   -> "worker."
*/}}
{{- define "llm-common.context.prefix" -}}
{{- $inherited := .context.inherited | default dict -}}
{{- if hasKey $inherited .key -}}
{{- get $inherited .key -}}
{{- else -}}
{{- .context.fieldPrefix | default "" -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.context.field: a value's path as the user writes it in the values file, for error messages: "shm.sizeLimit"
in a Ray worker's context is "worker.shm.sizeLimit"; "modelStorage.pvc.size" there stays "modelStorage.pvc.size" (the
workers inherit it from the top level).
Usage: {{ include "llm-common.context.field" (dict "context" $ctx "field" "shm.sizeLimit") }}
*/}}
{{- define "llm-common.context.field" -}}
{{- include "llm-common.context.prefix" (dict "context" .context "key" (regexFind "^[^.\\[]+" .field)) -}}{{- .field -}}
{{- end -}}
