{{/*
vLLM engine flags, shared by the charts that run vLLM's OpenAI server (vllm, kserve-llm).
*/}}

{{/*
llm-common.vllm.engineFlags: JSON list of [flag, value, kind, field] (for llm-common.args.flags and
llm-common.args.extra) from a structured `engine` values map: parallelism, context, memory, batching,
quantization and dtypes, speculative decoding and LoRA. Values left null keep vLLM's default; keys a chart does
not offer are simply absent. "field" prefixes the value paths named in errors (default "engine").
Usage: {{- $flags := include "llm-common.vllm.engineFlags" (dict "engine" .Values.engine) | fromJsonArray -}}
*/}}
{{- define "llm-common.vllm.engineFlags" -}}
{{- $e := .engine | default dict -}}
{{- $f := .field | default "engine" -}}
{{- $lora := $e.lora | default dict -}}
{{- $flags := list
  (list "tensor-parallel-size" $e.tensorParallelSize "int" (printf "%s.tensorParallelSize" $f))
  (list "pipeline-parallel-size" $e.pipelineParallelSize "int" (printf "%s.pipelineParallelSize" $f))
  (list "max-model-len" $e.maxModelLen "int" (printf "%s.maxModelLen" $f))
  (list "gpu-memory-utilization" $e.gpuMemoryUtilization "str" (printf "%s.gpuMemoryUtilization" $f))
  (list "enable-prefix-caching" $e.enablePrefixCaching "bool" (printf "%s.enablePrefixCaching" $f))
  (list "enable-chunked-prefill" $e.enableChunkedPrefill "bool" (printf "%s.enableChunkedPrefill" $f))
  (list "max-num-seqs" $e.maxNumSeqs "int" (printf "%s.maxNumSeqs" $f))
  (list "max-num-batched-tokens" $e.maxNumBatchedTokens "int" (printf "%s.maxNumBatchedTokens" $f))
  (list "quantization" $e.quantization "str" (printf "%s.quantization" $f))
  (list "kv-cache-dtype" $e.kvCacheDtype "str" (printf "%s.kvCacheDtype" $f))
  (list "dtype" $e.dtype "str" (printf "%s.dtype" $f))
  (list "speculative-config" $e.speculativeConfig "json" (printf "%s.speculativeConfig" $f))
  (list "enable-lora" $lora.enabled "flag" (printf "%s.lora.enabled" $f))
  (list "max-loras" $lora.maxLoras "int" (printf "%s.lora.maxLoras" $f))
  (list "max-lora-rank" $lora.maxLoraRank "int" (printf "%s.lora.maxLoraRank" $f))
-}}
{{- toJson $flags -}}
{{- end -}}
