{{/*
vllm chart helpers. Everything engine-agnostic comes from the llm-common library chart.
*/}}

{{/*
vllm.servedModelName: the name clients send as "model" (model.servedModelName, else model.name).
*/}}
{{- define "vllm.servedModelName" -}}
{{- .Values.model.servedModelName | default .Values.model.name -}}
{{- end -}}

{{/*
vllm.flags: JSON list of [flag, value, kind, field] for llm-common.args.flags, in the order vLLM documents them.
Every structured value maps to exactly one flag; values left null keep vLLM's default.
*/}}
{{- define "vllm.flags" -}}
{{- $flags := list
  (list "served-model-name" (prepend (.Values.model.aliases | default list) (include "vllm.servedModelName" .)) "list" "model.servedModelName / model.aliases")
  (list "host" "0.0.0.0" "str" "(chart: all interfaces)")
  (list "port" .Values.containerPort "int" "containerPort")
  (list "shutdown-timeout" .Values.drain.inflightTimeoutSeconds "int" "drain.inflightTimeoutSeconds")
  (list "revision" .Values.model.revision "str" "model.revision")
  (list "trust-remote-code" .Values.model.trustRemoteCode "flag" "model.trustRemoteCode")
-}}
{{- $flags = concat $flags (include "llm-common.vllm.engineFlags" (dict "engine" .Values.engine) | fromJsonArray) -}}
{{- $flags = concat $flags (list
  (list "lora-modules" nil "str" "engine.lora.adapters")
  (list "api-key" nil "str" "apiKey.secretName (rendered as VLLM_API_KEY from the Secret)")
  (list "model" nil "str" "model.name")
) -}}
{{- toJson $flags -}}
{{- end -}}

{{/*
vllm.args: the container args: the model (positional, as `vllm serve` takes it), the rendered flags, the LoRA
adapters, then extraArgs.
*/}}
{{- define "vllm.args" -}}
{{- $flags := include "vllm.flags" . | fromJsonArray -}}
- {{ .Values.model.name | toJson }}
{{- include "llm-common.args.flags" (dict "flags" $flags "negatable" true) }}
{{- with .Values.engine.lora.adapters }}
- "--lora-modules"
{{- range . }}
- {{ printf "%s=%s" .name .path | toJson }}
{{- end }}
{{- end }}
{{- include "llm-common.args.extra" (dict "flags" $flags "extraArgs" .Values.extraArgs) }}
{{- end -}}

{{/*
vllm.validate: cross-field rules that a schema cannot express. Each failure names the value to change.
*/}}
{{- define "vllm.validate" -}}
{{- if not .Values.model.name -}}
{{- fail "model.name is required: set it to a Hugging Face model id (e.g. meta-llama/Llama-3.1-8B-Instruct) or a path under modelStorage.mountPath (e.g. /models/llama-3-70b)" -}}
{{- end -}}
{{- $e := .Values.engine -}}
{{- $gpus := include "llm-common.accelerator.count" .Values.accelerator | int -}}
{{- $need := mul (int $e.tensorParallelSize) (int $e.pipelineParallelSize) -}}
{{- if and (gt $gpus 0) (ne $gpus (int $need)) -}}
{{- fail (printf "accelerator.count (%d) must equal engine.tensorParallelSize (%d) x engine.pipelineParallelSize (%d) = %d: set accelerator.count: %d, or change the parallel sizes" $gpus (int $e.tensorParallelSize) (int $e.pipelineParallelSize) (int $need) (int $need)) -}}
{{- end -}}
{{- if and (eq $gpus 0) (gt (int $need) 1) -}}
{{- fail (printf "engine.tensorParallelSize x engine.pipelineParallelSize = %d with accelerator.type=cpu; CPU pods serve one replica per pod: set both to 1" (int $need)) -}}
{{- end -}}
{{- if and $e.lora.adapters (not $e.lora.enabled) -}}
{{- fail "engine.lora.adapters is set but engine.lora.enabled is false: set engine.lora.enabled: true to serve adapters" -}}
{{- end -}}
{{- if and .Values.apiKey.secretName (not .Values.apiKey.secretKey) -}}
{{- fail "apiKey.secretKey is required when apiKey.secretName is set" -}}
{{- end -}}
{{- include "llm-common.shm.validate" . -}}
{{- include "llm-common.names.servedNames" (dict "names" (first (include "vllm.gatewayBackends" . | fromJsonArray)).names) -}}
{{- end -}}

{{/*
vllm.gatewayBackends: JSON list of what this release serves, for a gateway in front of it (the llm-stack umbrella
calls it with .Subcharts.vllm), in the shape llm-stack.backends documents: every ready pod of the Service is a
worker; names are the served name, its aliases and the static LoRA adapters, each with the value that sets it.
*/}}
{{- define "vllm.gatewayBackends" -}}
{{- $names := list (dict "name" (include "vllm.servedModelName" .) "field" (ternary "model.servedModelName" "model.name" (not (empty .Values.model.servedModelName)))) -}}
{{- range $i, $a := .Values.model.aliases -}}
{{- $names = append $names (dict "name" $a "field" (printf "model.aliases[%d]" $i)) -}}
{{- end -}}
{{- if .Values.engine.lora.enabled -}}
{{- range $i, $a := .Values.engine.lora.adapters -}}
{{- $names = append $names (dict "name" $a.name "field" (printf "engine.lora.adapters[%d].name" $i)) -}}
{{- end -}}
{{- end -}}
{{- list (dict "names" $names "discovery" "endpoints" "service" (include "llm-common.names.fullname" .)
      "namespace" (include "llm-common.names.namespace" .) "port" (int .Values.service.port)
      "portName" (.Values.service.portName | default "http") "pathPrefix" ""
      "apiKey" (ternary (dict "secretName" .Values.apiKey.secretName "secretKey" .Values.apiKey.secretKey) nil (not (empty .Values.apiKey.secretName)))) | toJson -}}
{{- end -}}
