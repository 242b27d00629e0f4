{{/*
llm-stack helpers: the gateway's template context and the list of backends it routes to.
*/}}

{{/*
llm-stack.gatewayContext: the context the llm-common helpers read the gateway's values from (gateway.* laid over
the release-wide values; a CPU pod). Usage: {{- $g := dict -}}{{- include "llm-stack.gatewayContext" (dict "root" . "out" $g) -}}
*/}}
{{- define "llm-stack.gatewayContext" -}}
{{- $values := merge (dict "accelerator" (dict "type" "cpu" "count" 0)) (deepCopy .root.Values.gateway) -}}
{{- include "llm-common.context.component" (dict "root" .root "values" $values "fieldPrefix" "gateway." "out" .out) -}}
{{- end -}}

{{/*
llm-stack.engineCharts: the engine subcharts the gateway can route to, in order.
*/}}
{{- define "llm-stack.engineCharts" -}}
{{- toJson (list "vllm" "tgi" "kserve-llm" "ray-llm") -}}
{{- end -}}

{{/*
llm-stack.backends: JSON list of {model, url, source} for every model of every enabled engine (through each
engine chart's own <chart>.gatewayBackends helper, called with the subchart's context), then gateway.extraBackends.
*/}}
{{- define "llm-stack.backends" -}}
{{- $ns := include "llm-common.names.namespace" . -}}
{{- $out := list -}}
{{- range $chart := include "llm-stack.engineCharts" . | fromJsonArray -}}
{{- $enabled := (get $.Values $chart | default dict).enabled -}}
{{- if and $enabled (hasKey $.Subcharts $chart) -}}
{{- $sub := index $.Subcharts $chart -}}
{{- range (include (printf "%s.gatewayBackends" $chart) $sub | fromJsonArray) -}}
{{- $out = append $out (dict "model" .model "url" (printf "http://%s.%s.svc:%d" .service $ns (int .port)) "source" $chart) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $i, $b := $.Values.gateway.extraBackends -}}
{{- $out = append $out (dict "model" $b.model "url" $b.url "source" (printf "gateway.extraBackends[%d]" $i)) -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/*
llm-stack.validate: the gateway needs at least one backend, and each model name exactly one backend (the router
routes by name; two engines claiming one name would split its traffic between different models).
*/}}
{{- define "llm-stack.validate" -}}
{{- if .Values.gateway.enabled -}}
{{- $backends := include "llm-stack.backends" . | fromJsonArray -}}
{{- if not $backends -}}
{{- fail "gateway.enabled is true but no engine is enabled and gateway.extraBackends is empty: enable an engine (vllm.enabled, tgi.enabled, kserve-llm.enabled, ray-llm.enabled) or list gateway.extraBackends" -}}
{{- end -}}
{{- $seen := dict -}}
{{- range $backends -}}
{{- if not .model -}}
{{- fail (printf "%s: serves no model name; set its served model name" .source) -}}
{{- end -}}
{{- if hasKey $seen .model -}}
{{- fail (printf "gateway: model %q is served by both %s and %s; give one a different served model name (e.g. vllm.model.servedModelName) so each model has exactly one backend" .model (get $seen .model) .source) -}}
{{- end -}}
{{- $_ := set $seen .model .source -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
llm-stack.backendList: "model=url model=url" for the registrar (model names and URLs contain no spaces).
*/}}
{{- define "llm-stack.backendList" -}}
{{- $items := list -}}
{{- range . -}}{{- $items = append $items (printf "%s=%s" .model .url) -}}{{- end -}}
{{- join " " $items -}}
{{- end -}}
