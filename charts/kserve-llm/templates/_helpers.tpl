{{/*
kserve-llm chart helpers. Everything engine-agnostic comes from the llm-common library chart.

How KServe builds a predictor pod (pkg/controller/v1beta1/inferenceservice/utils, v0.15-v0.20): the
InferenceService's spec.predictor.model is strategic-merge-patched onto the runtime container named
kserve-container (args are concatenated, runtime args first; env, ports and volumeMounts merge by key; maps such as
resources merge key by key), and the predictor's pod fields are merged over the runtime's. So the runtime carries
what every model shares (server flags, probes, drain, /dev/shm) and each InferenceService what is its own (weights,
engine flags, GPUs, scheduling).
*/}}

{{/*
kserve-llm.runtimeName: the (Cluster)ServingRuntime's name (runtime.name, else the release fullname).
*/}}
{{- define "kserve-llm.runtimeName" -}}
{{- .Values.runtime.name | default (include "llm-common.names.fullname" .) -}}
{{- end -}}

{{/*
kserve-llm.runtimeFlags: [flag, value, kind, field] for llm-common.args.flags: the flags of the runtime container,
shared by every InferenceService. The weights are where KServe's storage initializer puts them (/mnt/models), and
the served model name is KServe's literal {{.Name}} placeholder, which the controller replaces with the
InferenceService name when it builds the pod (so clients send the InferenceService name as "model").
*/}}
{{- define "kserve-llm.runtimeFlags" -}}
{{- $flags := list
  (list "model" "/mnt/models" "str" "inferenceServices[].storageUri (KServe downloads it to /mnt/models)")
  (list "served-model-name" "{{.Name}}" "str" "inferenceServices[].name (KServe's {{.Name}})")
  (list "host" "0.0.0.0" "str" "(chart: all interfaces)")
  (list "port" .Values.runtime.port "int" "runtime.port")
  (list "shutdown-timeout" .Values.drain.inflightTimeoutSeconds "int" "drain.inflightTimeoutSeconds")
  (list "api-key" nil "str" "apiKey.secretName (rendered as VLLM_API_KEY from the Secret)")
-}}
{{- toJson $flags -}}
{{- end -}}

{{/*
kserve-llm.huggingfaceFlags: the flags KServe's huggingfaceserver owns or this chart renders for it (--model_name is
{{.Name}} in KServe's runtime; the weights come from storageUri, not --model_id).
*/}}
{{- define "kserve-llm.huggingfaceFlags" -}}
{{- $flags := list
  (list "backend" .Values.huggingface.backend "str" "huggingface.backend")
  (list "model_name" nil "str" "inferenceServices[].name (KServe's {{.Name}})")
  (list "model_id" nil "str" "inferenceServices[].storageUri")
  (list "model_dir" nil "str" "inferenceServices[].storageUri (KServe downloads it to /mnt/models)")
-}}
{{- toJson $flags -}}
{{- end -}}

{{/*
kserve-llm.engineFlags: the per-model vLLM flags of one InferenceService, from its (merged) engine values.
Takes a context whose .Values are that InferenceService's values (see kserve-llm.itemValues).
*/}}
{{- define "kserve-llm.engineFlags" -}}
{{- $flags := include "llm-common.vllm.engineFlags" (dict "engine" .Values.engine) | fromJsonArray -}}
{{- $flags = append $flags (list "trust-remote-code" .Values.engine.trustRemoteCode "flag" "engine.trustRemoteCode") -}}
{{- toJson $flags -}}
{{- end -}}

{{/*
kserve-llm.itemValues: the values one InferenceService renders with: the top-level values with the item's
accelerator, resources, engine, nodeSelector, tolerations and affinity merged over them (maps key by key, the item
winning; lists replaced). Helm defines return text, so the result is set on .out as "values" and "context" (a
context for llm-common helpers that read .Values).
Usage: {{- $out := dict }}{{- include "kserve-llm.itemValues" (dict "root" $ "item" $item "out" $out) }}
*/}}
{{- define "kserve-llm.itemValues" -}}
{{- $root := .root -}}
{{- $over := deepCopy (pick .item "accelerator" "resources" "engine" "nodeSelector" "tolerations" "affinity") -}}
{{- $v := mergeOverwrite (deepCopy $root.Values) $over -}}
{{- /* The runtime mounts /dev/shm unless shm.enabled is false; every pod of every InferenceService gets it. */ -}}
{{- $_ := set $v "shm" (merge (dict "enabled" (include "kserve-llm.shmEnabled" $root | eq "true")) (deepCopy $root.Values.shm)) -}}
{{- $_ := set .out "values" $v -}}
{{- $_ := set .out "context" (dict "Values" $v "Chart" $root.Chart "Release" $root.Release "Capabilities" $root.Capabilities "Template" $root.Template) -}}
{{- end -}}

{{/*
kserve-llm.shmEnabled: "true" when the runtime mounts a memory-backed /dev/shm: unless shm.enabled is false (null
counts as on: the runtime is shared, so it cannot size /dev/shm by one model's GPU count).
*/}}
{{- define "kserve-llm.shmEnabled" -}}
{{- if or (kindIs "invalid" .Values.shm.enabled) .Values.shm.enabled -}}true{{- end -}}
{{- end -}}

{{/*
kserve-llm.itemRuntime: "format runtime" of one InferenceService: the model format and runtime it names, else this
chart's (or, with huggingface.enabled, KServe's huggingfaceserver). The runtime is "" when the item names a format
no rendered runtime serves and no runtime of its own.
*/}}
{{- define "kserve-llm.itemRuntime" -}}
{{- $root := .root -}}
{{- $item := .item -}}
{{- if $root.Values.huggingface.enabled -}}
{{- printf "%s %s" ($item.modelFormat | default $root.Values.huggingface.modelFormat) ($item.runtime | default $root.Values.huggingface.runtimeName) -}}
{{- else -}}
{{- $ours := $root.Values.runtime.modelFormat.name -}}
{{- $format := $item.modelFormat | default $ours -}}
{{- printf "%s %s" $format ($item.runtime | default (ternary (include "kserve-llm.runtimeName" $root) "" (eq $format $ours))) -}}
{{- end -}}
{{- end -}}

{{/*
kserve-llm.validateItem: the rules for one InferenceService, each failing with the field to change.
*/}}
{{- define "kserve-llm.validateItem" -}}
{{- $root := .root -}}
{{- $i := .index -}}
{{- $item := .item -}}
{{- $v := .values -}}
{{- $ctx := .context -}}
{{- $where := printf "inferenceServices[%d] (%s)" $i $item.name -}}
{{- /* format and runtime: KServe refuses a runtime that does not list the format, and finds none for an unknown format */ -}}
{{- $fr := splitList " " (include "kserve-llm.itemRuntime" .) -}}
{{- $format := index $fr 0 -}}
{{- $runtime := index $fr 1 -}}
{{- if not $runtime -}}
{{- fail (printf "inferenceServices[%d].runtime: no runtime serves model format %q (this chart's runtime serves %q): set inferenceServices[%d].runtime to a runtime that lists that format, or remove inferenceServices[%d].modelFormat" $i $format $root.Values.runtime.modelFormat.name $i $i) -}}
{{- end -}}
{{- if and (not $root.Values.huggingface.enabled) (eq $runtime (include "kserve-llm.runtimeName" $root)) (ne $format $root.Values.runtime.modelFormat.name) -}}
{{- fail (printf "inferenceServices[%d].modelFormat: runtime %s serves only model format %q, not %q: remove inferenceServices[%d].modelFormat or name another runtime" $i $runtime $root.Values.runtime.modelFormat.name $format $i) -}}
{{- end -}}
{{- /* GPUs = tensor x pipeline parallel, as in the vllm chart */ -}}
{{- $e := $v.engine -}}
{{- $gpus := include "llm-common.accelerator.count" $v.accelerator | int -}}
{{- $need := mul (int $e.tensorParallelSize) (int $e.pipelineParallelSize) -}}
{{- if and (gt $gpus 0) (ne $gpus (int $need)) -}}
{{- fail (printf "%s: accelerator.count (%d) must equal engine.tensorParallelSize (%d) x engine.pipelineParallelSize (%d) = %d: set inferenceServices[%d].accelerator.count: %d, or change the parallel sizes" $where $gpus (int $e.tensorParallelSize) (int $e.pipelineParallelSize) (int $need) $i (int $need)) -}}
{{- end -}}
{{- if and (eq $gpus 0) (gt (int $need) 1) -}}
{{- fail (printf "%s: engine.tensorParallelSize x engine.pipelineParallelSize = %d with accelerator.type=cpu; CPU pods serve one replica per pod: set both to 1" $where (int $need)) -}}
{{- end -}}
{{- /* replicas and scaling */ -}}
{{- $min := int ($item.minReplicas | default 1) -}}
{{- $max := int ($item.maxReplicas | default $min) -}}
{{- if gt $min $max -}}
{{- fail (printf "inferenceServices[%d].minReplicas (%d) must not exceed inferenceServices[%d].maxReplicas (%d)" $i $min $i $max) -}}
{{- end -}}
{{- $q := $item.queueAutoscaling | default dict -}}
{{- if $q.enabled -}}
{{- if not $q.serverAddress -}}
{{- fail (printf "inferenceServices[%d].queueAutoscaling.serverAddress is required when queueAutoscaling.enabled (the Prometheus URL KEDA queries)" $i) -}}
{{- end -}}
{{- if $item.scaleMetric -}}
{{- fail (printf "inferenceServices[%d].scaleMetric: remove it with queueAutoscaling.enabled (KEDA scales on the queue metric instead)" $i) -}}
{{- end -}}
{{- end -}}
{{- if and (not (kindIs "invalid" $item.scaleTarget)) (not $item.scaleMetric) -}}
{{- fail (printf "inferenceServices[%d].scaleTarget is set without inferenceServices[%d].scaleMetric (cpu or memory)" $i $i) -}}
{{- end -}}
{{- /* the runtime's memory-backed /dev/shm counts against each pod's memory limit */ -}}
{{- if $v.shm.enabled -}}
{{- $limit := (($v.resources | default dict).limits | default dict).memory -}}
{{- if not $limit -}}
{{- fail (printf "%s: resources.limits.memory is required: the runtime's memory-backed /dev/shm (shm.sizeLimit %s) counts against it; set resources.limits.memory (or inferenceServices[%d].resources.limits.memory)" $where (toString $v.shm.sizeLimit) $i) -}}
{{- end -}}
{{- $size := include "llm-common.quantity.bytes" (dict "value" $v.shm.sizeLimit "field" "shm.sizeLimit") | float64 -}}
{{- $limitBytes := include "llm-common.quantity.bytes" (dict "value" $limit "field" (printf "inferenceServices[%d].resources.limits.memory" $i)) | float64 -}}
{{- if ge $size $limitBytes -}}
{{- fail (printf "%s: resources.limits.memory (%s) must be larger than shm.sizeLimit (%s): the runtime's /dev/shm is memory-backed and counts against the limit; raise inferenceServices[%d].resources.limits.memory or lower shm.sizeLimit" $where (toString $limit) (toString $v.shm.sizeLimit) $i) -}}
{{- end -}}
{{- end -}}
{{- include "llm-common.shm.validate" $ctx -}}
{{- end -}}

{{/*
kserve-llm.validate: cross-field rules that a schema cannot express. Each failure names the value to change.
*/}}
{{- define "kserve-llm.validate" -}}
{{- $root := . -}}
{{- $hf := .Values.huggingface.enabled -}}
{{- if and $hf .Values.apiKey.secretName -}}
{{- fail "apiKey.secretName: KServe's huggingfaceserver does not check an API key (VLLM_API_KEY applies to this chart's vLLM runtime only); remove apiKey.secretName or set huggingface.enabled: false" -}}
{{- end -}}
{{- if and .Values.apiKey.secretName (not .Values.apiKey.secretKey) -}}
{{- fail "apiKey.secretKey is required when apiKey.secretName is set" -}}
{{- end -}}
{{- if and .Values.storage.credentialsSecret (not .Values.serviceAccount.create) -}}
{{- fail "storage.credentialsSecret: the chart lists the Secret on the ServiceAccount it creates; set serviceAccount.create: true, or remove storage.credentialsSecret and list the Secret on your own ServiceAccount (serviceAccount.name)" -}}
{{- end -}}
{{- if not $hf -}}
{{- $format := .Values.runtime.modelFormat.name -}}
{{- if has (lower $format) (list "huggingface" "vllm") -}}
{{- fail (printf "runtime.modelFormat.name: %q is a format of KServe's built-in runtimes (kserve-huggingfaceserver, kserve-vllmserver); with the same autoSelect priority KServe's webhook refuses one of the two runtimes. Use a name of our own such as llm-charts-vllm (the default)" $format) -}}
{{- end -}}
{{- end -}}
{{- $names := dict -}}
{{- range $i, $item := .Values.inferenceServices -}}
{{- if hasKey $names $item.name -}}
{{- fail (printf "inferenceServices[%d].name: %q is already used by inferenceServices[%d]; InferenceService names must be unique" $i $item.name (get $names $item.name)) -}}
{{- end -}}
{{- $_ := set $names $item.name $i -}}
{{- $out := dict -}}
{{- include "kserve-llm.itemValues" (dict "root" $root "item" $item "out" $out) -}}
{{- include "kserve-llm.validateItem" (dict "root" $root "index" $i "item" $item "values" $out.values "context" $out.context) -}}
{{- end -}}
{{- $l := .Values.llmInferenceService -}}
{{- if $l.enabled -}}
{{- if not $l.storageUri -}}
{{- fail "llmInferenceService.storageUri is required when llmInferenceService.enabled (hf://<org>/<repo>, s3://..., pvc://<claim>/<path>)" -}}
{{- end -}}
{{- $gpus := include "llm-common.accelerator.count" .Values.accelerator | int -}}
{{- $e := .Values.engine -}}
{{- if and (gt $gpus 0) (ne $gpus (mul (int $e.tensorParallelSize) (int $e.pipelineParallelSize) | int)) -}}
{{- fail (printf "accelerator.count (%d) must equal engine.tensorParallelSize (%d) x engine.pipelineParallelSize (%d) for llmInferenceService (its parallelism comes from engine)" $gpus (int $e.tensorParallelSize) (int $e.pipelineParallelSize)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
kserve-llm.gatewayBackends: JSON list of what this release serves, for a gateway in front of it (the llm-stack
umbrella calls it with (index .Subcharts "kserve-llm")), in the shape llm-stack.backends documents. Each
InferenceService is served as its own name ({{.Name}}) by the pods behind the Service KServe creates for it,
<name>-predictor (RawDeployment/Standard); every ready predictor pod is a worker. KServe's huggingfaceserver serves
the OpenAI routes under /openai (its KSERVE_OPENAI_ROUTE_PREFIX default), hence the path prefix.
*/}}
{{- define "kserve-llm.gatewayBackends" -}}
{{- $out := list -}}
{{- $key := ternary (dict "secretName" .Values.apiKey.secretName "secretKey" .Values.apiKey.secretKey) nil (not (empty .Values.apiKey.secretName)) -}}
{{- range $i, $s := .Values.inferenceServices -}}
{{- $out = append $out (dict "names" (list (dict "name" $s.name "field" (printf "inferenceServices[%d].name" $i)))
      "discovery" "endpoints" "service" (printf "%s-predictor" $s.name) "namespace" (include "llm-common.names.namespace" $)
      "port" 80 "portName" "" "pathPrefix" (ternary "/openai" "" (not (empty $.Values.huggingface.enabled))) "apiKey" $key) -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}
