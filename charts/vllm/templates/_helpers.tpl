{{/*
vllm chart helpers. Everything engine-agnostic comes from the llm-common library chart.
*/}}

{{/*
vllm.source: the model's source (llm-common.source.resolve over model.source, else model.name and model.revision), as
JSON. vLLM streams s3:// and gs:// sources with the Run:ai model streamer when model.source.load is stream.
Usage: {{- $src := include "vllm.source" . | fromJson -}}
*/}}
{{- define "vllm.source" -}}
{{- $m := .Values.model -}}
{{- include "llm-common.source.resolve" (dict "context" . "source" $m.source "field" "model.source" "name" $m.name "nameField" "model.name"
      "revision" $m.revision "revisionField" "model.revision" "stream" true) -}}
{{- end -}}

{{/*
vllm.servedModelName: the name clients send as "model" (model.servedModelName, else model.name, else the source's
name: its Hub id or the last segment of its path).
Usage: {{ include "vllm.servedModelName" . }}
*/}}
{{- define "vllm.servedModelName" -}}
{{- if or .Values.model.servedModelName .Values.model.name -}}
{{- .Values.model.servedModelName | default .Values.model.name -}}
{{- else -}}
{{- (include "vllm.source" . | fromJson).name -}}
{{- end -}}
{{- end -}}

{{/*
vllm.flags: JSON list of [flag, value, kind, field] for llm-common.args.flags, in the order vLLM documents them:
the server's own flags, then the engine-argument table (llm-common.vllm.engineArgs). Every structured value maps to
exactly one flag; values left null keep vLLM's default.
Usage: {{- $flags := include "vllm.flags" . | fromJsonArray -}}
*/}}
{{- define "vllm.flags" -}}
{{- $listen := include "llm-common.guard.listen" (dict "context" . "port" .Values.containerPort "portField" "containerPort") | fromJson -}}
{{- $src := include "vllm.source" . | fromJson -}}
{{- $flags := list
  (list "served-model-name" (prepend (.Values.model.aliases | default list) (include "vllm.servedModelName" .)) "list" "model.servedModelName / model.aliases")
  (list "host" $listen.host "str" "(chart: loopback behind the guard, else all interfaces)")
  (list "port" $listen.port "int" "containerPort / guard.enginePort")
  (list "shutdown-timeout" .Values.drain.inflightTimeoutSeconds "int" "drain.inflightTimeoutSeconds")
  (list "revision" $src.revision "str" $src.fields.revision)
  (list "trust-remote-code" .Values.model.trustRemoteCode "flag" "model.trustRemoteCode")
-}}
{{- $flags = concat $flags (include "llm-common.source.args" (dict "context" . "source" $src) | fromJsonArray) -}}
{{- $flags = concat $flags (include "llm-common.vllm.engineArgs" (dict "context" .) | fromJsonArray) -}}
{{- $flags = concat $flags (list
  (list "lora-modules" nil "str" "engine.lora.adapters")
  (list "api-key" nil "str" "apiKey.secretName (rendered as VLLM_API_KEY from the Secret)")
  (list "model" nil "str" "model.name / model.source.uri")
) -}}
{{- toJson $flags -}}
{{- end -}}

{{/*
vllm.args: the container args: the model (positional, as `vllm serve` takes it: the source's model, see
vllm.source), the rendered flags, the LoRA adapters, then extraArgs.
Usage: args: {{- include "vllm.args" . | nindent 2 }}
*/}}
{{- define "vllm.args" -}}
{{- $flags := include "vllm.flags" . | fromJsonArray -}}
- {{ (include "vllm.source" . | fromJson).model | toJson }}
{{- include "llm-common.args.flags" (dict "context" . "flags" $flags "negatable" true) }}
{{- with .Values.engine.lora.adapters }}
- "--lora-modules"
{{- range . }}
- {{ printf "%s=%s" .name .path | toJson }}
{{- end }}
{{- end }}
{{- include "llm-common.args.extra" (dict "context" . "flags" $flags "parser" "vllm") }}
{{- end -}}

{{/*
vllm.scratchDirs: JSON map of the vLLM container's writable emptyDirs (llm-common.scratch): /tmp and HOME.
Usage: {{- $dirs := include "vllm.scratchDirs" . | fromJson -}}
*/}}
{{- define "vllm.scratchDirs" -}}
{{- toJson (dict "tmp" "/tmp" "home" "/home/vllm") -}}
{{- end -}}

{{/*
vllm.container: the vLLM container of the Deployment (llm-common.workload.deployment), as a YAML list item.
Usage: {{ include "vllm.container" . }}
*/}}
{{- define "vllm.container" -}}
{{- $src := include "vllm.source" . | fromJson -}}
- name: vllm
  image: {{ include "llm-common.images.image" (dict "context" . "image" .Values.image) | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["vllm", "serve"]
  args:
    {{- include "vllm.args" . | nindent 4 }}
  env:
    {{- include "llm-common.vllm.env" (dict "context" .) | nindent 4 }}
    {{- include "llm-common.storage.env" (dict "context" .) | nindent 4 }}
    {{- include "llm-common.source.env" (dict "context" . "source" $src) | nindent 4 }}
    {{- include "llm-common.env.apiKey" (dict "context" . "name" "VLLM_API_KEY") | nindent 4 }}
    {{- include "llm-common.env.extraEnv" (dict "context" .) | nindent 4 }}
    {{- /* The serving port: the guard's listener when guard.enabled (llm-common.guard), the probes' and Service's target. */}}
  {{- include "llm-common.workload.containerTail" (dict "context" . "port" .Values.containerPort
        "volumeMounts" (concat (include "llm-common.scratch.volumeMounts" (dict "context" . "dirs" (include "vllm.scratchDirs" . | fromJson)) | fromYamlArray)
                               (list "models" "shm") (include "llm-common.source.volumeMounts" (dict "context" . "source" $src) | fromJsonArray))) | nindent 2 }}
{{- include "llm-common.guard.container" (dict "context" . "port" .Values.containerPort) }}
{{- end -}}

{{/*
vllm.validate: cross-field rules that a schema cannot express. Each failure names the value to change.
Usage: {{- include "vllm.validate" . -}}
*/}}
{{- define "vllm.validate" -}}
{{- if and (not .Values.model.name) (not (.Values.model.source | default dict).uri) -}}
{{- fail "model.name is required: set it to a Hugging Face model id (e.g. meta-llama/Llama-3.1-8B-Instruct) or a path under modelStorage.mountPath (e.g. /models/llama-3-70b), or set model.source.uri" -}}
{{- end -}}
{{- $_ := include "vllm.source" . -}}
{{- include "llm-common.storage.validate" (dict "context" .) -}}
{{- include "llm-common.vllm.validateGpus" (dict "context" .) -}}
{{- $e := .Values.engine -}}
{{- if and $e.lora.runtimeUpdates (not $e.lora.enabled) -}}
{{- fail "engine.lora.runtimeUpdates needs engine.lora.enabled: true (vLLM loads adapters at runtime only with --enable-lora)" -}}
{{- end -}}
{{- if and $e.lora.adapters (not $e.lora.enabled) -}}
{{- fail "engine.lora.adapters is set but engine.lora.enabled is false: set engine.lora.enabled: true to serve adapters" -}}
{{- end -}}
{{- $_ := include "llm-common.env.apiKeyRef" (dict "context" .) -}}
{{- include "llm-common.shm.validate" (dict "context" .) -}}
{{- include "llm-common.sizing.validate" (dict "context" . "profile" .Values.model.profile "profileField" "model.profile") -}}
{{- include "llm-common.names.servedNames" (dict "context" . "names" (first (include "vllm.gatewayBackends" . | fromJsonArray)).names) -}}
{{- end -}}

{{/*
vllm.gatewayBackends: JSON list of what this release serves, for a gateway in front of it (the llm-stack umbrella
calls it with .Subcharts.vllm), in the shape llm-stack.backends documents: every ready pod of the Service is a
worker; names are the served name, its aliases and the static LoRA adapters, each with the value that sets it.
Usage: {{- $backends := include "vllm.gatewayBackends" .Subcharts.vllm | fromJsonArray -}}
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
{{- list (dict "names" $names "discovery" "endpoints" "service" (include "llm-common.names.fullname" (dict "context" .))
      "namespace" (include "llm-common.names.namespace" (dict "context" .)) "port" (int .Values.service.port)
      "portName" (.Values.service.portName | default "http") "pathPrefix" ""
      "apiKey" (include "llm-common.env.apiKeyRef" (dict "context" .) | fromJson | default nil)) | toJson -}}
{{- end -}}
