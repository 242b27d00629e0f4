{{/*
vLLM: the engine arguments and rules of the charts that run vLLM: vllm (its OpenAI server), kserve-llm (its
ServingRuntime and InferenceServices) and ray-llm (Ray Serve LLM's engine_kwargs). The `engine` values are typed once
in schemas/vllm-engine.schema.yaml.
*/}}

{{/*
llm-common.vllm.engineArgs: the vLLM engine-argument table, a JSON list of [flag, value, kind, field] rows (for
llm-common.args.flags, llm-common.args.extra and llm-common.vllm.engineKwargs) from .Values.engine: parallelism,
context, memory, batching, quantization and dtypes; then the blocks a chart offers only when its engine values have
them: speculative decoding (engine.speculativeConfig), LoRA (engine.lora) and engine.trustRemoteCode. Values left null
keep vLLM's default. "field" is the value's path as the user writes it (llm-common.context.field). Kinds: see
llm-common.args.flags.
Usage: {{- $rows := include "llm-common.vllm.engineArgs" (dict "context" .) | fromJsonArray -}}
*/}}
{{- define "llm-common.vllm.engineArgs" -}}
{{- $e := .context.Values.engine | default dict -}}
{{- $f := include "llm-common.context.field" (dict "context" .context "field" "engine") -}}
{{- $rows := list
  (list "tensor-parallel-size" $e.tensorParallelSize "int" (printf "%s.tensorParallelSize" $f))
  (list "pipeline-parallel-size" $e.pipelineParallelSize "int" (printf "%s.pipelineParallelSize" $f))
  (list "max-model-len" $e.maxModelLen "int" (printf "%s.maxModelLen" $f))
  (list "gpu-memory-utilization" $e.gpuMemoryUtilization "float" (printf "%s.gpuMemoryUtilization" $f))
  (list "enable-prefix-caching" $e.enablePrefixCaching "bool" (printf "%s.enablePrefixCaching" $f))
  (list "enable-chunked-prefill" $e.enableChunkedPrefill "bool" (printf "%s.enableChunkedPrefill" $f))
  (list "max-num-seqs" $e.maxNumSeqs "int" (printf "%s.maxNumSeqs" $f))
  (list "max-num-batched-tokens" $e.maxNumBatchedTokens "int" (printf "%s.maxNumBatchedTokens" $f))
  (list "quantization" $e.quantization "str" (printf "%s.quantization" $f))
  (list "kv-cache-dtype" $e.kvCacheDtype "str" (printf "%s.kvCacheDtype" $f))
  (list "dtype" $e.dtype "str" (printf "%s.dtype" $f))
-}}
{{- if hasKey $e "speculativeConfig" -}}
{{- $rows = append $rows (list "speculative-config" $e.speculativeConfig "json" (printf "%s.speculativeConfig" $f)) -}}
{{- end -}}
{{- if hasKey $e "lora" -}}
{{- $lora := $e.lora | default dict -}}
{{- $rows = concat $rows (list
  (list "enable-lora" $lora.enabled "flag" (printf "%s.lora.enabled" $f))
  (list "max-loras" $lora.maxLoras "int" (printf "%s.lora.maxLoras" $f))
  (list "max-lora-rank" $lora.maxLoraRank "int" (printf "%s.lora.maxLoraRank" $f))
) -}}
{{- end -}}
{{- if hasKey $e "trustRemoteCode" -}}
{{- $rows = append $rows (list "trust-remote-code" $e.trustRemoteCode "flag" (printf "%s.trustRemoteCode" $f)) -}}
{{- end -}}
{{- toJson $rows -}}
{{- end -}}

{{/*
llm-common.vllm.engineKwargs: the table as a JSON map of vLLM engine arguments by name (AsyncEngineArgs: the flag
with "_" for "-"), for Ray Serve LLM's engine_kwargs: int rows as integers, float rows as numbers, "flag" rows only
when true, null values left out. Then "extra", a map passed through as given, after every key of the rows has been refused
there (llm-common.args.refuseOwned).
Parameters:
  context  the component context
  rows     the engine-argument table (llm-common.vllm.engineArgs), plus rows with a nil value for what the chart
           owns otherwise (their field says what to set instead)
  extra    the map of more engine arguments, e.g. .Values.engine.extraKwargs
  field    its value path, e.g. "engine.extraKwargs"
Usage: {{- $kwargs := include "llm-common.vllm.engineKwargs" (dict "context" . "rows" $rows "extra" .Values.engine.extraKwargs "field" "engine.extraKwargs") | fromJson -}}
*/}}
{{- define "llm-common.vllm.engineKwargs" -}}
{{- $out := dict -}}
{{- $owned := dict -}}
{{- range .rows -}}
{{- $k := index . 0 | replace "-" "_" -}}
{{- $v := index . 1 -}}
{{- $kind := index . 2 -}}
{{- $_ := set $owned $k (index . 3) -}}
{{- if kindIs "invalid" $v -}}
{{- else if eq $kind "int" -}}{{- $_ := set $out $k (int64 $v) -}}
{{- else if eq $kind "float" -}}{{- $_ := set $out $k (float64 $v) -}}
{{- else if eq $kind "flag" -}}{{- if $v -}}{{- $_ := set $out $k true -}}{{- end -}}
{{- else -}}{{- $_ := set $out $k $v -}}
{{- end -}}
{{- end -}}
{{- include "llm-common.args.refuseOwned" (dict "context" .context "field" .field "given" .extra "owned" $owned) -}}
{{- toJson (merge $out (.extra | default dict)) -}}
{{- end -}}

{{/*
llm-common.vllm.gpusPerReplica: the GPUs one model replica uses, engine.tensorParallelSize x
engine.pipelineParallelSize (an integer).
Usage: {{ include "llm-common.vllm.gpusPerReplica" (dict "context" .) | int }}
*/}}
{{- define "llm-common.vllm.gpusPerReplica" -}}
{{- $e := .context.Values.engine -}}
{{- mul (int $e.tensorParallelSize) (int $e.pipelineParallelSize) -}}
{{- end -}}

{{/*
llm-common.vllm.validateGpus: a pod that serves one model replica has exactly its GPUs: accelerator.count must equal
engine.tensorParallelSize x engine.pipelineParallelSize, and a CPU pod serves with both at 1. (Ray spreads a replica
over several pods and checks its own rule with llm-common.vllm.gpusPerReplica.)
Usage: {{- include "llm-common.vllm.validateGpus" (dict "context" .) -}}
*/}}
{{- define "llm-common.vllm.validateGpus" -}}
{{- $ctx := .context -}}
{{- $e := $ctx.Values.engine -}}
{{- $f := dict -}}
{{- range list "accelerator.count" "accelerator.type" "engine.tensorParallelSize" "engine.pipelineParallelSize" -}}
{{- $_ := set $f . (include "llm-common.context.field" (dict "context" $ctx "field" .)) -}}
{{- end -}}
{{- $gpus := include "llm-common.accelerator.count" (dict "context" .context) | int -}}
{{- $need := include "llm-common.vllm.gpusPerReplica" (dict "context" .context) | int -}}
{{- if and (gt $gpus 0) (ne $gpus $need) -}}
{{- /* The way out is named in the component's own values (inferenceServices[0].accelerator.count), where the
user set the parallel sizes, not the inherited top-level value every other component shares. */ -}}
{{- $own := printf "%s%s" ($ctx.fieldPrefix | default "") "accelerator.count" -}}
{{- fail (printf "%s (%d) must equal %s (%d) x %s (%d) = %d: set %s: %d, or change the parallel sizes" (get $f "accelerator.count") $gpus (get $f "engine.tensorParallelSize") (int $e.tensorParallelSize) (get $f "engine.pipelineParallelSize") (int $e.pipelineParallelSize) $need $own $need) -}}
{{- end -}}
{{- if and (eq $gpus 0) (gt $need 1) -}}
{{- fail (printf "%s x %s = %d with %s=cpu; CPU pods serve one replica per pod: set both to 1" (get $f "engine.tensorParallelSize") (get $f "engine.pipelineParallelSize") $need (get $f "accelerator.type")) -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.vllm.env: the env list items every vLLM server container starts with: a writable HOME for the non-root
user (torch.compile, Triton and vLLM caches live under it; the pod mounts an emptyDir at /home/vllm), USER (the
runAsUser has no passwd entry in the image, and getpass.getuser(), which torch's inductor calls, fails without it),
no usage reports from a cluster that serves private models, and runtime LoRA loading when engine.lora.runtimeUpdates.
Usage: env: {{- include "llm-common.vllm.env" (dict "context" .) | nindent 2 }}
*/}}
{{- define "llm-common.vllm.env" -}}
- name: HOME
  value: /home/vllm
- name: USER
  value: vllm
- name: VLLM_NO_USAGE_STATS
  value: "1"
{{- if ((.context.Values.engine | default dict).lora | default dict).runtimeUpdates }}
- name: VLLM_ALLOW_RUNTIME_LORA_UPDATING
  value: "True"
{{- end -}}
{{- end -}}
