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
Usage: {{ include "kserve-llm.runtimeName" . }}
*/}}
{{- define "kserve-llm.runtimeName" -}}
{{- .Values.runtime.name | default (include "llm-common.names.fullname" (dict "context" .)) -}}
{{- end -}}

{{/*
kserve-llm.predictorName: the name KServe gives an InferenceService's predictor in RawDeployment/Standard mode,
"<name>-predictor" (pkg/constants PredictorServiceName, v0.15-v0.20): its Service, and its Deployment, whose pods'
names start with it.
Usage: {{ include "kserve-llm.predictorName" $item.name }}
*/}}
{{- define "kserve-llm.predictorName" -}}
{{- printf "%s-predictor" . -}}
{{- end -}}

{{/*
kserve-llm.runtimeFlags: [flag, value, kind, field] for llm-common.args.flags: the flags of the runtime container,
shared by every InferenceService. The weights are where KServe's storage initializer puts them (/mnt/models), and
the served model name is KServe's literal {{.Name}} placeholder, which the controller replaces with the
InferenceService name when it builds the pod (so clients send the InferenceService name as "model").
Usage: {{- $flags := include "kserve-llm.runtimeFlags" . | fromJsonArray -}}
*/}}
{{- define "kserve-llm.runtimeFlags" -}}
{{- $listen := include "llm-common.guard.listen" (dict "context" . "port" .Values.runtime.port "portField" "runtime.port") | fromJson -}}
{{- $flags := list
  (list "model" "/mnt/models" "str" "inferenceServices[].storageUri (KServe downloads it to /mnt/models)")
  (list "served-model-name" "{{.Name}}" "str" "inferenceServices[].name (KServe's {{.Name}})")
  (list "host" $listen.host "str" "(chart: loopback behind the guard, else all interfaces)")
  (list "port" $listen.port "int" "runtime.port / guard.enginePort")
  (list "shutdown-timeout" .Values.drain.inflightTimeoutSeconds "int" "drain.inflightTimeoutSeconds")
  (list "api-key" nil "str" "apiKey.secretName (rendered as VLLM_API_KEY from the Secret)")
-}}
{{- toJson $flags -}}
{{- end -}}

{{/*
kserve-llm.scratchDirs: JSON map of the runtime container's writable emptyDirs (llm-common.scratch): /tmp and HOME.
Usage: {{- $dirs := include "kserve-llm.scratchDirs" . | fromJson -}}
*/}}
{{- define "kserve-llm.scratchDirs" -}}
{{- toJson (dict "tmp" "/tmp" "home" "/home/vllm") -}}
{{- end -}}

{{/*
kserve-llm.huggingfaceFlags: the flags KServe's huggingfaceserver owns or this chart renders for it (--model_name is
{{.Name}} in KServe's runtime; the weights come from storageUri, not --model_id).
Usage: {{- $flags := include "kserve-llm.huggingfaceFlags" . | fromJsonArray -}}
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
kserve-llm.runtimeContext: fills .out with the context of what every InferenceService shares through its runtime
(llm-common.context.component): the top-level values, with the runtime's /dev/shm resolved (on unless shm.enabled is
false: the runtime is shared, so it cannot size /dev/shm by one model's GPU count), the container security context
carrying the pod's user, group, runAsNonRoot and seccomp profile (a ServingRuntime has no pod-level securityContext,
so an InferenceService written by hand inherits only what its containers carry) and, for KServe's huggingfaceserver
(huggingface.enabled), its health routes as the probe paths.
Usage: {{- $rt := dict -}}{{- include "kserve-llm.runtimeContext" (dict "context" . "out" $rt) -}}
*/}}
{{- define "kserve-llm.runtimeContext" -}}
{{- $v := .context.Values -}}
{{- $own := dict "shm" (dict "enabled" (or (kindIs "invalid" $v.shm.enabled) $v.shm.enabled) "sizeLimit" $v.shm.sizeLimit) -}}
{{- $podUser := pick ($v.podSecurityContext | default dict) "runAsNonRoot" "runAsUser" "runAsGroup" "seccompProfile" -}}
{{- $_ := set $own "containerSecurityContext" (merge (deepCopy ($v.containerSecurityContext | default dict)) $podUser) -}}
{{- if $v.huggingface.enabled -}}
{{- $p := $v.huggingface.probePaths -}}
{{- $_ := set $own "probes" (mergeOverwrite (deepCopy $v.probes) (dict "startup" (dict "path" $p.startup) "readiness" (dict "path" $p.readiness) "liveness" (dict "path" $p.liveness))) -}}
{{- end -}}
{{- include "llm-common.context.component" (dict "context" .context "values" $own "shared" (keys $v) "out" .out) -}}
{{- end -}}

{{/*
kserve-llm.itemContext: fills .out with the context of one InferenceService (llm-common.context.component): the
runtime's (kserve-llm.runtimeContext) with the item's accelerator, resources, engine, nodeSelector, tolerations,
affinity and extraEnv (which replaces the top level's) merged over it (maps key by key, the item winning; lists replaced), and the item's own extraArgs. Errors name
those values under "inferenceServices[<index>].", the others as the top level's.
Usage: {{- $ctx := dict -}}{{- include "kserve-llm.itemContext" (dict "context" $rt "item" $item "index" $i "out" $ctx) -}}
*/}}
{{- define "kserve-llm.itemContext" -}}
{{- $own := pick .item "accelerator" "resources" "engine" "nodeSelector" "tolerations" "affinity" "extraEnv" -}}
{{- $_ := set $own "extraArgs" (.item.extraArgs | default list) -}}
{{- include "llm-common.context.component" (dict "context" .context "values" $own "fieldPrefix" (printf "inferenceServices[%d]." (int .index))
      "shared" (without (keys .context.Values) "extraArgs") "out" .out) -}}
{{- end -}}

{{/*
kserve-llm.itemRuntime: "format runtime" of one InferenceService: the model format and runtime it names, else this
chart's (or, with huggingface.enabled, KServe's huggingfaceserver). The runtime is "" when the item names a format
no rendered runtime serves and no runtime of its own.
Usage: {{- $fr := splitList " " (include "kserve-llm.itemRuntime" (dict "root" . "item" $item)) -}}
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
kserve-llm.itemStorageUri: an InferenceService's storageUri: its storageUri as given, else its source (the model.source
shape of every engine chart, llm-common.source.resolve) as KServe's URI (llm-common.source.storageUri). The source's
credentials Secret defaults to storage.credentialsSecret (KServe reads keys from the ServiceAccount's Secrets); an
S3-compatible endpoint belongs on that Secret (serving.kserve.io/s3-endpoint), not in the values, and is refused.
With global.production an hf:// model must be pinned to a commit (hf://<org>/<repo>:<40 hex>).
Parameters: root (the chart's context), item, index
Usage: storageUri: {{ include "kserve-llm.itemStorageUri" (dict "root" $root "item" $item "index" $i) | quote }}
*/}}
{{- define "kserve-llm.itemStorageUri" -}}
{{- $root := .root -}}
{{- $i := int .index -}}
{{- $item := .item -}}
{{- if $item.storageUri -}}
{{- if and (($root.Values.global | default dict).production) (hasPrefix "hf://" $item.storageUri) (not (regexMatch ":[0-9a-f]{40}$" $item.storageUri)) -}}
{{- fail (printf "inferenceServices[%d].storageUri: global.production is set, so the Hub model must be pinned to a commit: hf://<org>/<repo>:<40 hex characters>, not %q" $i $item.storageUri) -}}
{{- end -}}
{{- $item.storageUri -}}
{{- else -}}
{{- $s := deepCopy ($item.source | default dict) -}}
{{- if not $s.uri -}}
{{- fail (printf "inferenceServices[%d].storageUri or inferenceServices[%d].source.uri is required: where KServe fetches the model from (hf://<org>/<repo>, s3://..., gs://..., pvc://<claim>/<path>, oci://...)" $i $i) -}}
{{- end -}}
{{- if $s.endpoint -}}
{{- fail (printf "inferenceServices[%d].source.endpoint: KServe's storage initializer reads an S3-compatible endpoint from the credentials Secret's serving.kserve.io/s3-endpoint annotation; remove it here and annotate the Secret" $i) -}}
{{- end -}}
{{- $c := $s.credentials | default dict -}}
{{- if and (not $c.secretName) $root.Values.storage.credentialsSecret -}}
{{- $_ := set $s "credentials" (merge (dict "secretName" $root.Values.storage.credentialsSecret) $c) -}}
{{- end -}}
{{- $src := include "llm-common.source.resolve" (dict "context" $root "source" $s "field" (printf "inferenceServices[%d].source" $i) "stream" false
      "external" true) | fromJson -}}
{{- include "llm-common.source.storageUri" (dict "context" $root "source" $src) -}}
{{- end -}}
{{- end -}}

{{/*
kserve-llm.validateItem: the rules for one InferenceService, each failing with the field to change.
Parameters: root (the chart's context), index, item, context (its kserve-llm.itemContext)
Usage: {{- include "kserve-llm.validateItem" (dict "root" . "index" $i "item" $item "context" $ctx) -}}
*/}}
{{- define "kserve-llm.validateItem" -}}
{{- $root := .root -}}
{{- $i := .index -}}
{{- $item := .item -}}
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
{{- /* GPUs = tensor x pipeline parallel, and the runtime's memory-backed /dev/shm below each pod's memory limit */ -}}
{{- include "llm-common.vllm.validateGpus" (dict "context" .context) -}}
{{- include "llm-common.shm.validate" (dict "context" .context) -}}
{{- include "llm-common.sizing.validate" (dict "context" .context "profile" $item.profile "profileField" (printf "inferenceServices[%d].profile" $i)) -}}
{{- $_ := include "kserve-llm.itemStorageUri" (dict "root" $root "item" $item "index" $i) -}}
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
{{- end -}}

{{/*
kserve-llm.validate: cross-field rules that a schema cannot express. Each failure names the value to change.
Usage: {{- include "kserve-llm.validate" . -}}
*/}}
{{- define "kserve-llm.validate" -}}
{{- $root := . -}}
{{- $hf := .Values.huggingface.enabled -}}
{{- if and $hf .Values.sidecars -}}
{{- fail "sidecars: with huggingface.enabled the predictors run KServe's huggingfaceserver runtime, which this chart does not render, so there is no pod spec of ours to add sidecars to; set huggingface.enabled: false (this chart's vLLM runtime takes them)" -}}
{{- end -}}
{{- if and $hf .Values.apiKey.secretName -}}
{{- fail "apiKey.secretName: KServe's huggingfaceserver does not check an API key (VLLM_API_KEY applies to this chart's vLLM runtime only); remove apiKey.secretName or set huggingface.enabled: false" -}}
{{- end -}}
{{- $_ := include "llm-common.env.apiKeyRef" (dict "context" .) -}}
{{- if and .Values.storage.credentialsSecret (not .Values.serviceAccount.create) -}}
{{- fail "storage.credentialsSecret: the chart lists the Secret on the ServiceAccount it creates; set serviceAccount.create: true, or remove storage.credentialsSecret and list the Secret on your own ServiceAccount (serviceAccount.name)" -}}
{{- end -}}
{{- if not $hf -}}
{{- $format := .Values.runtime.modelFormat.name -}}
{{- if has (lower $format) (list "huggingface" "vllm") -}}
{{- fail (printf "runtime.modelFormat.name: %q is a format of KServe's built-in runtimes (kserve-huggingfaceserver, kserve-vllmserver); with the same autoSelect priority KServe's webhook refuses one of the two runtimes. Use a name of our own such as llm-charts-vllm (the default)" $format) -}}
{{- end -}}
{{- end -}}
{{- $rt := dict -}}
{{- include "kserve-llm.runtimeContext" (dict "context" . "out" $rt) -}}
{{- $names := dict -}}
{{- range $i, $item := .Values.inferenceServices -}}
{{- if hasKey $names $item.name -}}
{{- fail (printf "inferenceServices[%d].name: %q is already used by inferenceServices[%d]; InferenceService names must be unique" $i $item.name (get $names $item.name)) -}}
{{- end -}}
{{- $_ := set $names $item.name $i -}}
{{- $ctx := dict -}}
{{- include "kserve-llm.itemContext" (dict "context" $rt "item" $item "index" $i "out" $ctx) -}}
{{- include "kserve-llm.validateItem" (dict "root" $root "index" $i "item" $item "context" $ctx) -}}
{{- end -}}
{{- $l := .Values.llmInferenceService -}}
{{- if $l.enabled -}}
{{- if not $l.storageUri -}}
{{- fail "llmInferenceService.storageUri is required when llmInferenceService.enabled (hf://<org>/<repo>, s3://..., pvc://<claim>/<path>)" -}}
{{- end -}}
{{- /* its parallelism comes from engine, its GPUs from accelerator */ -}}
{{- include "llm-common.vllm.validateGpus" (dict "context" .) -}}
{{- end -}}
{{- end -}}

{{/*
kserve-llm.gatewayBackends: JSON list of what this release serves, for a gateway in front of it (the llm-stack
umbrella calls it with (index .Subcharts "kserve-llm")), in the shape llm-stack.backends documents. Each
InferenceService is served as its own name ({{.Name}}) by the pods behind the Service KServe creates for it,
<name>-predictor (RawDeployment/Standard); every ready predictor pod is a worker. KServe's huggingfaceserver serves
the OpenAI routes under /openai (its KSERVE_OPENAI_ROUTE_PREFIX default), hence the path prefix.
Usage: {{- $backends := include "kserve-llm.gatewayBackends" (index .Subcharts "kserve-llm") | fromJsonArray -}}
*/}}
{{- define "kserve-llm.gatewayBackends" -}}
{{- $out := list -}}
{{- $key := include "llm-common.env.apiKeyRef" (dict "context" .) | fromJson | default nil -}}
{{- range $i, $s := .Values.inferenceServices -}}
{{- $out = append $out (dict "names" (list (dict "name" $s.name "field" (printf "inferenceServices[%d].name" $i)))
      "discovery" "endpoints" "service" (include "kserve-llm.predictorName" $s.name) "namespace" (include "llm-common.names.namespace" (dict "context" $))
      "port" 80 "portName" "" "pathPrefix" (ternary "/openai" "" (not (empty $.Values.huggingface.enabled))) "apiKey" $key) -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}
