{{/*
llm-stack helpers: the backends the gateway routes to and the rules they must meet (the gateway itself:
_gateway.tpl).
*/}}

{{/*
llm-stack.engineCharts: the engine subcharts the gateway can route to, in order.
Usage: {{- range include "llm-stack.engineCharts" . | fromJsonArray }}
*/}}
{{- define "llm-stack.engineCharts" -}}
{{- toJson (list "vllm" "tgi" "kserve-llm" "ray-llm") -}}
{{- end -}}

{{/*
llm-stack.backends: JSON list of the backends the gateway routes to, in the shape the registrar reads
(files/registrar.py):
  {source, names: [{name, field}], discovery: "endpoints" | "url", namespace, service, port, portName,
   url, pathPrefix, apiKey: {secretName, secretKey} | null}
Each enabled engine contributes what its own <chart>.gatewayBackends helper returns (called with the subchart's
context, so its namespaceOverride and names are its own); "field" is prefixed with the subchart's key so errors
name the value the user set. Then gateway.extraBackends: {model, url} (one worker at that URL) or {model, service,
namespace, port} (every ready pod of that Service, found like the engines of this release).
Usage: {{- $backends := include "llm-stack.backends" . | fromJsonArray -}}
*/}}
{{- define "llm-stack.backends" -}}
{{- $out := list -}}
{{- range $chart := include "llm-stack.engineCharts" . | fromJsonArray -}}
{{- $enabled := (get $.Values $chart | default dict).enabled -}}
{{- if and $enabled (hasKey $.Subcharts $chart) -}}
{{- range (include (printf "%s.gatewayBackends" $chart) (index $.Subcharts $chart) | fromJsonArray) -}}
{{- $names := list -}}
{{- range .names -}}{{- $names = append $names (dict "name" .name "field" (printf "%s.%s" $chart .field)) -}}{{- end -}}
{{- $out = append $out (merge (dict "source" $chart "names" $names) (omit . "names")) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $ns := include "llm-common.names.namespace" (dict "context" .) -}}
{{- range $i, $b := $.Values.gateway.extraBackends -}}
{{- $field := printf "gateway.extraBackends[%d]" $i -}}
{{- $names := list (dict "name" $b.model "field" (printf "%s.model" $field)) -}}
{{- if $b.service -}}
{{- $out = append $out (dict "source" $field "names" $names "discovery" "endpoints" "service" $b.service
      "namespace" ($b.namespace | default $ns) "port" (int $b.port) "portName" ($b.portName | default "")
      "pathPrefix" ($b.pathPrefix | default "") "apiKey" nil) -}}
{{- else -}}
{{- $out = append $out (dict "source" $field "names" $names "discovery" "url" "url" $b.url "pathPrefix" "" "apiKey" nil) -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/*
llm-stack.validate: what the gateway cannot route is refused at render time, naming the value to change:
at least one backend; every name of every engine, alias and adapter routable and served by exactly one backend
(llm-common.names.servedNames); an extra backend with either a url or a service, not both; and the Ingress path
under /v1, the only part of the API the gateway serves.
Usage: {{- include "llm-stack.validate" . -}}
*/}}
{{- define "llm-stack.validate" -}}
{{- $gw := .Values.gateway -}}
{{- if $gw.enabled -}}
{{- range $i, $b := $gw.extraBackends -}}
{{- if and $b.url $b.service -}}
{{- fail (printf "gateway.extraBackends[%d]: set url (one worker at that URL) or service (+ namespace, port: every ready pod of that Service), not both" $i) -}}
{{- end -}}
{{- if not (or $b.url $b.service) -}}
{{- fail (printf "gateway.extraBackends[%d]: set url (e.g. http://llama.other-ns.svc:8000) or service, namespace and port" $i) -}}
{{- end -}}
{{- if and $b.service (not $b.port) -}}
{{- fail (printf "gateway.extraBackends[%d].port: the Service port is required with service" $i) -}}
{{- end -}}
{{- end -}}
{{- $backends := include "llm-stack.backends" . | fromJsonArray -}}
{{- if not $backends -}}
{{- fail "gateway.enabled is true but no engine is enabled and gateway.extraBackends is empty: enable an engine (vllm.enabled, tgi.enabled, kserve-llm.enabled, ray-llm.enabled) or list gateway.extraBackends" -}}
{{- end -}}
{{- $names := list -}}
{{- range $backends -}}
{{- if not .names -}}
{{- fail (printf "%s: serves no model name; set its served model name" .source) -}}
{{- end -}}
{{- $names = concat $names .names -}}
{{- end -}}
{{- include "llm-common.names.servedNames" (dict "context" . "names" $names) -}}
{{- if and $gw.ingress.enabled (not (regexMatch "^/v1(/|$)" (toString $gw.ingress.path))) -}}
{{- fail (printf "gateway.ingress.path: %q exposes more than the OpenAI API; the gateway serves /v1 only: set /v1 (or a path under it)" $gw.ingress.path) -}}
{{- end -}}
{{- end -}}
{{- end -}}
