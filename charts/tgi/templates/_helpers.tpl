{{/*
tgi chart helpers. Everything engine-agnostic comes from the llm-common library chart.
*/}}

{{/*
tgi.v3: "true" when the image is on the 3.3 line (the default), "" for "2.0". Flags and variables that TGI 2.0
does not know are rendered only on the 3.3 line.
Usage: {{- if include "tgi.v3" . }}
*/}}
{{- define "tgi.v3" -}}
{{- if ne (toString .Values.imageLine) "2.0" -}}true{{- end -}}
{{- end -}}

{{/*
tgi.source: the model's source (llm-common.source.resolve over model.source, else engine.modelId and
engine.revision), as JSON. TGI cannot stream from a store: s3:// and gs:// are prefetched.
Usage: {{- $src := include "tgi.source" . | fromJson -}}
*/}}
{{- define "tgi.source" -}}
{{- $e := .Values.engine -}}
{{- include "llm-common.source.resolve" (dict "context" . "source" (.Values.model | default dict).source "field" "model.source" "name" $e.modelId "nameField" "engine.modelId"
      "revision" $e.revision "revisionField" "engine.revision" "stream" false) -}}
{{- end -}}

{{/*
tgi.flags: JSON list of [flag, value, kind, field] for llm-common.args.flags, in the order TGI's launcher lists
them. Every structured value maps to exactly one flag; null keeps TGI's default. Entries with a nil value are
never rendered but are "owned": llm-common.args.extra refuses them in extraArgs and names the value to set.
Usage: {{- $flags := include "tgi.flags" . | fromJsonArray -}}
*/}}
{{- define "tgi.flags" -}}
{{- $e := .Values.engine -}}
{{- $src := include "tgi.source" . | fromJson -}}
{{- $v3 := include "tgi.v3" . -}}
{{- $cudaGraphs := "" -}}
{{- if $e.cudaGraphs -}}
{{- $sizes := list -}}
{{- range $e.cudaGraphs -}}{{- $sizes = append $sizes (printf "%d" (int64 .)) -}}{{- end -}}
{{- $cudaGraphs = join "," $sizes -}}
{{- end -}}
{{- $flags := list
  (list "model-id" $src.model "str" $src.fields.uri)
  (list "revision" $src.revision "str" $src.fields.revision)
  (list "num-shard" $e.numShard "int" "engine.numShard")
  (list "sharded" nil "str" "engine.numShard")
  (list "quantize" $e.quantize "str" "engine.quantize")
  (list "speculate" $e.speculate "int" "engine.speculate")
  (list "dtype" $e.dtype "str" "engine.dtype")
  (list "kv-cache-dtype" $e.kvCacheDtype "str" "engine.kvCacheDtype")
  (list "trust-remote-code" $e.trustRemoteCode "flag" "engine.trustRemoteCode")
  (list "max-concurrent-requests" $e.maxConcurrentRequests "int" "engine.maxConcurrentRequests")
  (list "max-input-tokens" $e.maxInputTokens "int" "engine.maxInputTokens")
  (list "max-input-length" nil "str" "engine.maxInputTokens (--max-input-length is TGI's legacy name)")
  (list "max-total-tokens" $e.maxTotalTokens "int" "engine.maxTotalTokens")
  (list "max-batch-prefill-tokens" $e.maxBatchPrefillTokens "int" "engine.maxBatchPrefillTokens")
  (list "max-batch-total-tokens" $e.maxBatchTotalTokens "int" "engine.maxBatchTotalTokens")
  (list "max-batch-size" $e.maxBatchSize "int" "engine.maxBatchSize")
  (list "cuda-graphs" $cudaGraphs "str" "engine.cudaGraphs")
  (list "hostname" "0.0.0.0" "str" "(chart: all interfaces)")
  (list "port" .Values.containerPort "int" "containerPort")
  (list "api-key" nil "str" "apiKey.secretName (rendered as API_KEY from the Secret)")
  (list "lora-adapters" (join "," ($e.loraAdapters | default list)) "str" "engine.loraAdapters")
  (list "usage-stats" (ternary $e.usageStats nil (not (empty $v3))) "str" "engine.usageStats")
  (list "graceful-termination-timeout" (ternary .Values.drain.inflightTimeoutSeconds nil (not (empty $v3))) "int" "drain.inflightTimeoutSeconds")
-}}
{{- toJson $flags -}}
{{- end -}}

{{/*
tgi.args: the container args (the image's entrypoint is the launcher): the rendered flags, then extraArgs.
Usage: args: {{- include "tgi.args" . | nindent 2 }}
*/}}
{{- define "tgi.args" -}}
{{- $flags := include "tgi.flags" . | fromJsonArray -}}
{{- include "llm-common.args.flags" (dict "context" . "flags" $flags "negatable" false) }}
{{- include "llm-common.args.extra" (dict "context" . "flags" $flags) }}
{{- end -}}

{{/*
tgi.container: the TGI container of the Deployment (llm-common.workload.deployment), as a YAML list item.
Usage: {{ include "tgi.container" . }}
*/}}
{{- define "tgi.container" -}}
{{- $s := .Values.modelStorage -}}
{{- $src := include "tgi.source" . | fromJson -}}
- name: tgi
  image: {{ include "llm-common.images.image" (dict "context" . "image" .Values.image) | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  # No command: the image's entrypoint starts text-generation-launcher with these args.
  args:
    {{- include "tgi.args" . | nindent 4 }}
  env:
    # A writable HOME for the non-root user: Triton, FlashInfer and outlines caches live under it.
    - name: HOME
      value: /home/tgi
    {{- if and (not (include "tgi.v3" .)) (ne $s.type "none") $s.hfHome (not $s.readOnly) }}
    # TGI 2.0 images set HUGGINGFACE_HUB_CACHE=/data, which wins over HF_HOME: point it at the volume.
    - name: HUGGINGFACE_HUB_CACHE
      value: {{ printf "%s/huggingface/hub" (trimSuffix "/" $s.mountPath) | quote }}
    {{- end }}
    {{- include "llm-common.storage.env" (dict "context" . "tokenEnv" (include "tgi.tokenEnv" . | fromJsonArray)) | nindent 4 }}
    {{- include "llm-common.source.env" (dict "context" . "source" $src) | nindent 4 }}
    {{- /* The launcher reads --api-key from API_KEY. */}}
    {{- include "llm-common.env.apiKey" (dict "context" . "name" "API_KEY") | nindent 4 }}
    {{- include "llm-common.env.extraEnv" (dict "context" .) | nindent 4 }}
  {{- include "llm-common.workload.containerTail" (dict "context" . "port" .Values.containerPort
        "volumeMounts" (concat (list (dict "name" "home" "mountPath" "/home/tgi") "models" "shm") (include "llm-common.source.volumeMounts" (dict "context" . "source" $src) | fromJsonArray))) | nindent 2 }}
{{- end -}}

{{/*
tgi.tokenEnv: the variables the Hugging Face token is rendered as. TGI 2.1+ reads HF_TOKEN; 2.0.x passed
HUGGING_FACE_HUB_TOKEN to its shards, so the 2.0 line gets both.
Usage: {{- $names := include "tgi.tokenEnv" . | fromJsonArray -}}
*/}}
{{- define "tgi.tokenEnv" -}}
{{- if include "tgi.v3" . -}}
{{- toJson (list "HF_TOKEN") -}}
{{- else -}}
{{- toJson (list "HF_TOKEN" "HUGGING_FACE_HUB_TOKEN") -}}
{{- end -}}
{{- end -}}

{{/*
tgi.writableCache: "true" when the Hub cache is on a writable volume: HF_HOME points into it (hfHome), or the
volume sits at /data, where the image's own HF_HOME (3.x) and HUGGINGFACE_HUB_CACHE (2.0) point.
Usage: {{- if include "tgi.writableCache" . }}
*/}}
{{- define "tgi.writableCache" -}}
{{- $s := .Values.modelStorage -}}
{{- if and (ne $s.type "none") (not $s.readOnly) (or $s.hfHome (eq (trimSuffix "/" $s.mountPath) "/data")) -}}true{{- end -}}
{{- end -}}

{{/*
tgi.validate: cross-field rules that a schema cannot express. Each failure names the value to change.
Usage: {{- include "tgi.validate" . -}}
*/}}
{{- define "tgi.validate" -}}
{{- $e := .Values.engine -}}
{{- $v3 := include "tgi.v3" . -}}
{{- if and (not $e.modelId) (not ((.Values.model | default dict).source | default dict).uri) -}}
{{- fail "engine.modelId is required: set it to a Hugging Face model id (e.g. mistralai/Mistral-7B-Instruct-v0.3) or an absolute path to a model directory on the volume (e.g. /data/mistral-7b), or set model.source.uri" -}}
{{- end -}}
{{- $src := include "tgi.source" . | fromJson -}}
{{- include "llm-common.storage.validate" (dict "context" .) -}}
{{- /* GPUs and shards: one shard per GPU of the pod. */ -}}
{{- $gpus := include "llm-common.accelerator.count" (dict "context" .) | int -}}
{{- $shards := int $e.numShard -}}
{{- if and (gt $gpus 0) (ne $gpus $shards) -}}
{{- fail (printf "engine.numShard (%d) must equal accelerator.count (%d): TGI runs one shard per GPU. Set engine.numShard: %d, or accelerator.count: %d" $shards $gpus $gpus $shards) -}}
{{- end -}}
{{- if and (eq $gpus 0) (gt $shards 1) -}}
{{- fail (printf "engine.numShard: %d with accelerator.type=cpu; a CPU pod serves the model unsharded: set engine.numShard: 1" $shards) -}}
{{- end -}}
{{- /* Token limits, as TGI's launcher and router check them at start. */ -}}
{{- if and (not (kindIs "invalid" $e.maxInputTokens)) (not (kindIs "invalid" $e.maxTotalTokens)) -}}
{{- if le (int64 $e.maxTotalTokens) (int64 $e.maxInputTokens) -}}
{{- fail (printf "engine.maxTotalTokens (%d) must be greater than engine.maxInputTokens (%d): the total counts the prompt plus the generated tokens. Raise engine.maxTotalTokens or lower engine.maxInputTokens" (int64 $e.maxTotalTokens) (int64 $e.maxInputTokens)) -}}
{{- end -}}
{{- end -}}
{{- if not (kindIs "invalid" $e.maxBatchTotalTokens) -}}
{{- if and (not (kindIs "invalid" $e.maxTotalTokens)) (gt (int64 $e.maxTotalTokens) (int64 $e.maxBatchTotalTokens)) -}}
{{- fail (printf "engine.maxBatchTotalTokens (%d) must be at least engine.maxTotalTokens (%d): one request must fit in a batch" (int64 $e.maxBatchTotalTokens) (int64 $e.maxTotalTokens)) -}}
{{- end -}}
{{- if and (not (kindIs "invalid" $e.maxBatchPrefillTokens)) (gt (int64 $e.maxBatchPrefillTokens) (int64 $e.maxBatchTotalTokens)) -}}
{{- fail (printf "engine.maxBatchPrefillTokens (%d) must not exceed engine.maxBatchTotalTokens (%d)" (int64 $e.maxBatchPrefillTokens) (int64 $e.maxBatchTotalTokens)) -}}
{{- end -}}
{{- end -}}
{{- if and $e.dtype $e.quantize -}}
{{- fail (printf "engine.dtype (%s) cannot be combined with engine.quantize (%s): TGI refuses --dtype with --quantize. Unset engine.dtype, or engine.quantize" (toString $e.dtype) (toString $e.quantize)) -}}
{{- end -}}
{{- /* The 2.0 line: refuse what TGI 2.0 does not have instead of rendering a flag it would reject (or, for the
API key, silently ignore). */ -}}
{{- if not $v3 -}}
{{- if $e.kvCacheDtype -}}
{{- fail "engine.kvCacheDtype: --kv-cache-dtype needs TGI 2.4 or later; imageLine is \"2.0\". Unset it, or use a 3.3 image with imageLine: \"3.3\"" -}}
{{- end -}}
{{- if $e.loraAdapters -}}
{{- fail "engine.loraAdapters: --lora-adapters needs TGI 2.1 or later; imageLine is \"2.0\". Unset it, or use a 3.3 image with imageLine: \"3.3\"" -}}
{{- end -}}
{{- if .Values.apiKey.secretName -}}
{{- fail "apiKey.secretName: TGI 2.0 has no API key (2.3+ reads API_KEY) and would serve without one; imageLine is \"2.0\". Unset apiKey.secretName, or use a 3.3 image with imageLine: \"3.3\"" -}}
{{- end -}}
{{- if has (toString $e.quantize) (list "exl2" "marlin" "compressed-tensors") -}}
{{- fail (printf "engine.quantize: %s is not a TGI 2.0 method (2.0 has awq, eetq, gptq, bitsandbytes, bitsandbytes-nf4, bitsandbytes-fp4, fp8); imageLine is \"2.0\"" (toString $e.quantize)) -}}
{{- end -}}
{{- end -}}
{{- $_ := include "llm-common.env.apiKeyRef" (dict "context" .) -}}
{{- /* A Hub download needs a writable cache: the image's own /data is root-owned and the pod is not root. */ -}}
{{- $s := .Values.modelStorage -}}
{{- if and (eq $src.scheme "hf") (not $src.offline) (not (include "tgi.writableCache" .)) -}}
{{- fail (printf "modelStorage.type: %s %q is downloaded from the Hub, which needs a writable cache volume; use modelStorage.type emptyDir, pvc or existingClaim with readOnly: false (and hfHome: true unless mountPath is /data), or point it at an absolute path on a pre-filled volume (or model.source.offline: true for a pre-filled cache)" $src.fields.uri $src.model) -}}
{{- end -}}
{{- if not (has .Values.autoscaling.metric.name (list "tgi_queue_size" "tgi_batch_current_size")) -}}
{{- if .Values.autoscaling.enabled -}}
{{- fail (printf "autoscaling.metric.name: %q is not a TGI queue metric; use tgi_queue_size (requests waiting) or tgi_batch_current_size (requests in the running batch)" .Values.autoscaling.metric.name) -}}
{{- end -}}
{{- end -}}
{{- include "llm-common.shm.validate" (dict "context" .) -}}
{{- include "llm-common.sizing.validate" (dict "context" . "profile" (.Values.model | default dict).profile "profileField" "model.profile" "engine" (include "tgi.sizingEngine" . | fromJson)) -}}
{{- end -}}

{{/*
tgi.sizingEngine: the fit check's engine parameters (llm-common.sizing.fit) as JSON, TGI's flags in vLLM's terms:
its shards are the tensor-parallel ranks, --max-total-tokens the longest sequence (null: TGI 3 sizes it from free
memory, so only the weights are checked), and 0.9 of GPU memory usable (TGI keeps a share free too; vLLM's default).
Usage: {{- $engine := include "tgi.sizingEngine" . | fromJson -}}
*/}}
{{- define "tgi.sizingEngine" -}}
{{- $e := .Values.engine -}}
{{- $values := dict "tensorParallelSize" $e.numShard "pipelineParallelSize" 1 "maxModelLen" $e.maxTotalTokens
      "gpuMemoryUtilization" 0.9 "maxNumBatchedTokens" $e.maxBatchPrefillTokens "dtype" $e.dtype -}}
{{- $fields := dict "tensorParallelSize" "engine.numShard" "pipelineParallelSize" "engine.numShard" "maxModelLen" "engine.maxTotalTokens"
      "gpuMemoryUtilization" "the chart's usable share for TGI," "maxNumBatchedTokens" "engine.maxBatchPrefillTokens"
      "kvCacheDtype" "engine.kvCacheDtype" "dtype" "engine.dtype" -}}
{{- toJson (dict "values" $values "fields" $fields) -}}
{{- end -}}

{{/*
tgi.gatewayBackends: JSON list of what this release serves, for a gateway in front of it (the llm-stack umbrella
calls it with .Subcharts.tgi), in the shape llm-stack.backends documents: every ready pod of the Service is a
worker, serving the model id (TGI's /v1/models answers it).
Usage: {{- $backends := include "tgi.gatewayBackends" .Subcharts.tgi | fromJsonArray -}}
*/}}
{{- define "tgi.gatewayBackends" -}}
{{- $src := include "tgi.source" . | fromJson -}}
{{- list (dict "names" (list (dict "name" $src.model "field" $src.fields.uri)) "discovery" "endpoints"
      "service" (include "llm-common.names.fullname" (dict "context" .)) "namespace" (include "llm-common.names.namespace" (dict "context" .))
      "port" (int .Values.service.port) "portName" (.Values.service.portName | default "http") "pathPrefix" ""
      "apiKey" (include "llm-common.env.apiKeyRef" (dict "context" .) | fromJson | default nil)) | toJson -}}
{{- end -}}
