{{/*
Sizing: the render-time fit check. When the values give the model's profile (schemas/model-profile.schema.yaml,
written by `llmcharts plan`), the chart works out, with the GPU table (llm-common.gpus.table), whether one model
replica fits the GPUs it asks for, and refuses it when the weights plus one max-length sequence do not fit.
The arithmetic is the planner's (src/llmcharts/plan.py: evaluate and kv_capacity, vLLM 0.32's memory model), and
tests/static/test_sizing.py checks that both give the same numbers for every known model config and GPU:
  per GPU      weights / (TP x PP) (rounded up), + profile.overheadBytes, out of memoryMiB x gpuMemoryUtilization
  KV cache     the rest; one token takes kvBytesPerToken / kvHeads x max(1, kvHeads / TP) bytes per GPU (KV heads
               split across ranks, replicated below one per rank), its layers split over PP stages
  blocks       of 16 tokens (vLLM's CUDA default block_size) holding every layer of one KV cache group
               (vllm/v1/core/kv_cache_utils.py); a sequence of maxModelLen needs ceil(maxModelLen / 16) blocks of
               each full-attention group and ceil(min(window - 1 + in-flight tokens, maxModelLen) / 16) + 1 of each
               sliding-window group (SlidingWindowSpec.max_admission_blocks_per_request); in-flight tokens are
               2 x max-num-batched-tokens (async scheduling), whose default follows the GPU's memory
               (vllm/engine/arg_utils.py get_batch_defaults: 16384 from 160 GiB, 8192 from 70 GiB except A100, 2048)
  fits         the KV cache holds at least one sequence of maxModelLen (vLLM refuses to start otherwise)
The check runs only when it can: a profile is given, the pods have GPUs, and accelerator.product (or
global.gpuProduct) is a row of the GPU table; NOTES says why when it does not.
*/}}

{{/*
llm-common.sizing.lowConcurrency: the concurrency at max length below which NOTES warns (sequences of maxModelLen
that fit in the KV cache at once; below it long requests queue behind each other).
Usage: {{ include "llm-common.sizing.lowConcurrency" (dict "context" .) | float64 }}
*/}}
{{- define "llm-common.sizing.lowConcurrency" -}}4{{- end -}}

{{/*
llm-common.sizing.vllmEngine: the engine parameters of the fit check from a vLLM engine's values (.Values.engine of
the context: the vllm, kserve-llm and ray-llm charts), as JSON {"values": {...}, "fields": {...}} with the keys
tensorParallelSize, pipelineParallelSize, maxModelLen, gpuMemoryUtilization, maxNumBatchedTokens, kvCacheDtype and
dtype (null values: vLLM's defaults), and each key's value path as the user writes it.
Usage: {{- $engine := include "llm-common.sizing.vllmEngine" (dict "context" .) | fromJson -}}
*/}}
{{- define "llm-common.sizing.vllmEngine" -}}
{{- $e := .context.Values.engine | default dict -}}
{{- $values := dict -}}
{{- $fields := dict -}}
{{- range list "tensorParallelSize" "pipelineParallelSize" "maxModelLen" "gpuMemoryUtilization" "maxNumBatchedTokens" "kvCacheDtype" "dtype" -}}
{{- if and (hasKey $e .) (not (kindIs "invalid" (index $e .))) -}}{{- $_ := set $values . (index $e .) -}}{{- end -}}
{{- $_ := set $fields . (include "llm-common.context.field" (dict "context" $.context "field" (printf "engine.%s" .))) -}}
{{- end -}}
{{- toJson (dict "values" $values "fields" $fields) -}}
{{- end -}}

{{/*
llm-common.sizing.fit: the fit of one model replica on the context's GPUs, as JSON. {"checked": false, "why": ...}
when there is nothing to check (no profile, CPU pods, a product outside the GPU table), else "checked": true with
the numbers (bytes, per GPU): gpu, gpuBytes, usableBytes, weightsPerGpu, overheadBytes, kvCacheBytes,
kvBytesPerToken, maxModelLen (null when neither the engine nor the profile gives one), blocks, blocksPerSequence,
tokens (KV cache tokens as vLLM logs them), concurrency (sequences of maxModelLen at once), fits, and "error", the
message naming the fields when it does not fit.
"fields" (the engine values' paths) and "profileField" come back too, for messages.
Parameters:
  context        the context of the pods that hold the GPUs (accelerator.*, global.gpuProduct)
  profile        the model's profile (model.profile), or empty
  profileField   its value path, e.g. "model.profile" or "inferenceServices[0].profile"
  engine         {"values": {...}, "fields": {...}} as llm-common.sizing.vllmEngine returns it (TGI maps its own
                 flags); default: llm-common.sizing.vllmEngine of engineContext
  engineContext  the context whose .Values.engine is the vLLM engine (default: context; ray-llm's engine values sit
                 at the top while its GPUs are the worker group's)
Usage: {{- $fit := include "llm-common.sizing.fit" (dict "context" . "profile" .Values.model.profile "profileField" "model.profile") | fromJson -}}
*/}}
{{- define "llm-common.sizing.fit" -}}
{{- $ctx := .context -}}
{{- $p := .profile | default dict -}}
{{- $pf := .profileField -}}
{{- $engine := .engine | default (include "llm-common.sizing.vllmEngine" (dict "context" (.engineContext | default .context)) | fromJson) -}}
{{- $ev := $engine.values -}}
{{- $ef := $engine.fields -}}
{{- $acc := $ctx.Values.accelerator | default dict -}}
{{- $product := $acc.product | default (($ctx.Values.global | default dict).gpuProduct) | default "" -}}
{{- $productField := include "llm-common.context.field" (dict "context" $ctx "field" (ternary "accelerator.product" "global.gpuProduct" (not (empty $acc.product)))) -}}
{{- $row := get (include "llm-common.gpus.table" (dict "context" $ctx) | fromYaml) $product -}}
{{- if empty $p -}}
{{- toJson (dict "checked" false "why" "" "fields" $ef "profileField" $pf) -}}
{{- else if not (include "llm-common.accelerator.resourceName" (dict "context" $ctx)) -}}
{{- toJson (dict "checked" false "fields" $ef "profileField" $pf "why" (printf "%s is given but the pods have no GPUs (accelerator.type: cpu): nothing to check" $pf)) -}}
{{- else if not $product -}}
{{- toJson (dict "checked" false "fields" $ef "profileField" $pf "why" (printf "%s is given but no GPU product: set %s to a GPU of the llm-common table to check that the model fits" $pf (include "llm-common.context.field" (dict "context" $ctx "field" "accelerator.product")))) -}}
{{- else if empty $row -}}
{{- toJson (dict "checked" false "fields" $ef "profileField" $pf "why" (printf "%s %s is not in the llm-common GPU table: its memory is unknown, so the fit is not checked" $productField $product)) -}}
{{- else -}}
{{- include "llm-common.sizing.checkDtypes" (dict "context" $ctx "profile" $p "profileField" $pf "engine" $engine) -}}
{{- $tp := int64 ($ev.tensorParallelSize | default 1) -}}
{{- $pp := int64 ($ev.pipelineParallelSize | default 1) -}}
{{- $gpus := mul $tp $pp -}}
{{- $util := float64 (ternary 0.9 $ev.gpuMemoryUtilization (kindIs "invalid" $ev.gpuMemoryUtilization)) -}}
{{- $gpuBytes := mul (int64 $row.memoryMiB) 1048576 -}}
{{- $slice := "" -}}
{{- with $acc.migProfile -}}
{{- /* A MIG slice has the memory its profile names (3g.40gb: 40 GB), taken as 10^9-byte GB: a little below what
the slice has in GiB (A100-80GB's 3g.40gb is 39.5 GiB), so the check errs on the side of refusing. */ -}}
{{- $gpuBytes = mul (int64 (regexReplaceAll "^.*[.]([0-9]+)gb.*$" . "${1}")) 1000000000 -}}
{{- $slice = printf " MIG %s slice (%s)" . (include "llm-common.context.field" (dict "context" $ctx "field" "accelerator.migProfile")) -}}
{{- end -}}
{{- $usable := int64 (floor (mulf $gpuBytes $util)) -}}
{{- $weights := int64 $p.weightsBytes -}}
{{- $perGpu := div (add $weights $gpus -1) $gpus -}}
{{- $overhead := int64 $p.overheadBytes -}}
{{- $kvMem := sub (sub $usable $perGpu) $overhead -}}
{{- $kvHeads := int64 $p.kvHeads -}}
{{- $layers := int64 $p.numLayers -}}
{{- $perHead := div (int64 $p.kvBytesPerToken) $kvHeads -}}
{{- $perLayer := div (mul $perHead (max 1 (div $kvHeads $tp))) $layers -}}
{{- $swl := int64 ($p.slidingWindowLayers | default 0) -}}
{{- $full := div (add (sub $layers $swl) $pp -1) $pp -}}
{{- $sliding := div (add $swl $pp -1) $pp -}}
{{- $kvPerToken := mul $perLayer (add $full $sliding) -}}
{{- $maxLen := $ev.maxModelLen | default $p.contextLength -}}
{{- $lenWhat := printf "%s = %v" (get $ef "maxModelLen") $maxLen -}}
{{- $lenFix := printf "Lower %s" (get $ef "maxModelLen") -}}
{{- if kindIs "invalid" $ev.maxModelLen -}}
{{- $lenWhat = printf "the model's own context length, %v (%s.contextLength, used while %s is unset)" $maxLen $pf (get $ef "maxModelLen") -}}
{{- $lenFix = printf "Set %s to a shorter length" (get $ef "maxModelLen") -}}
{{- end -}}
{{- $out := dict "checked" true "gpu" $product "gpus" $gpus "gpuBytes" $gpuBytes "usableBytes" $usable
      "weightsPerGpu" $perGpu "overheadBytes" $overhead "kvCacheBytes" (max $kvMem 0) "kvBytesPerToken" $kvPerToken
      "maxModelLen" $maxLen "blocks" 0 "blocksPerSequence" 0 "tokens" 0 "concurrency" 0 "fits" true "error" ""
      "fields" $ef "profileField" $pf -}}
{{- $gib := 1073741824.0 -}}
{{- $where := printf "%d x %s%s (%s: %.1f GiB each) at %s %v" $gpus $product $slice $productField (divf $gpuBytes $gib) (get $ef "gpuMemoryUtilization") $util -}}
{{- $gpusWhat := printf "%s x %s" (get $ef "tensorParallelSize") (get $ef "pipelineParallelSize") -}}
{{- if eq (get $ef "tensorParallelSize") (get $ef "pipelineParallelSize") -}}{{- $gpusWhat = get $ef "tensorParallelSize" -}}{{- end -}}
{{- if le $kvMem 0 -}}
{{- $_ := set $out "fits" false -}}
{{- $_ := set $out "error" (printf "%s: the model does not fit the GPUs it asks for: weights %.1f GiB (%s.weightsBytes) / %d GPU(s) (%s) = %.1f GiB per GPU, plus %.1f GiB overhead (%s.overheadBytes), exceed %.1f GiB usable on %s. Use more GPUs (%s and %s), a larger GPU (%s), or quantized weights (re-run llmcharts plan for them)" $pf (divf $weights $gib) $pf $gpus $gpusWhat (divf $perGpu $gib) (divf $overhead $gib) $pf (divf $usable $gib) $where (include "llm-common.context.field" (dict "context" $ctx "field" "accelerator.count")) (get $ef "tensorParallelSize") $productField) -}}
{{- else if $maxLen -}}
{{- $maxLen = int64 $maxLen -}}
{{- /* KV cache groups (plan.kv_capacity): one group when every layer is alike, else equal-size groups of alike layers */ -}}
{{- $groupSize := add $full $sliding -}}
{{- $fullGroups := ternary 1 0 (gt $full 0) -}}
{{- $slidingGroups := ternary 1 0 (gt $sliding 0) -}}
{{- if and (gt $full 0) (gt $sliding 0) -}}
{{- $lo := min $full $sliding -}}
{{- $hi := max $full $sliding -}}
{{- $groupSize = ternary $lo $hi (ge (mul $hi 2) (mul $lo 3)) -}}
{{- $fullGroups = div (add $full $groupSize -1) $groupSize -}}
{{- $slidingGroups = div (add $sliding $groupSize -1) $groupSize -}}
{{- end -}}
{{- $batched := $ev.maxNumBatchedTokens -}}
{{- if kindIs "invalid" $batched -}}
{{- $batched = ternary 16384 (ternary 8192 2048 (and (ge $gpuBytes (mul 70 1073741824)) (not (contains "A100" $product)))) (ge $gpuBytes (mul 160 1073741824)) -}}
{{- end -}}
{{- $perSeq := mul $fullGroups (div (add $maxLen 15) 16) -}}
{{- if gt $slidingGroups 0 -}}
{{- $held := min (add (sub (int64 $p.slidingWindow) 1) (mul 2 (int64 $batched))) $maxLen -}}
{{- $perSeq = add $perSeq (mul $slidingGroups (add (div (add $held 15) 16) 1)) -}}
{{- end -}}
{{- $blocks := div $kvMem (mul $perLayer 16 $groupSize) -}}
{{- $tokens := div (mul $blocks $maxLen) $perSeq -}}
{{- $_ := set $out "blocks" $blocks -}}
{{- $_ := set $out "blocksPerSequence" $perSeq -}}
{{- $_ := set $out "tokens" $tokens -}}
{{- $_ := set $out "concurrency" (divf $blocks $perSeq) -}}
{{- if lt $blocks $perSeq -}}
{{- $_ := set $out "fits" false -}}
{{- $_ := set $out "error" (printf "%s: the model does not fit the GPUs it asks for: after %.1f GiB of weights and %.1f GiB overhead per GPU, the KV cache (%.2f GiB per GPU on %s) holds %d tokens, less than one sequence of %s. %s, or use more GPUs (%s and %s) or a larger GPU (%s)" $pf (divf $perGpu $gib) (divf $overhead $gib) (divf $kvMem $gib) $where $tokens $lenWhat $lenFix (include "llm-common.context.field" (dict "context" $ctx "field" "accelerator.count")) (get $ef "tensorParallelSize") $productField) -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.sizing.checkDtypes: fails when the engine serves another weight or KV-cache dtype than the profile was
computed for (its bytes per weight or per token would be wrong): engine dtype / kvCacheDtype against the profile's
dtype / kvCacheDtype, by bytes per element; "auto" and null follow the profile.
Parameters: as llm-common.sizing.fit.
Usage: {{- include "llm-common.sizing.checkDtypes" (dict "context" . "profile" $p "profileField" "model.profile" "engine" $engine) -}}
*/}}
{{- define "llm-common.sizing.checkDtypes" -}}
{{- $p := .profile -}}
{{- $bytes := dict "float32" 4 "float" 4 "float16" 2 "half" 2 "bfloat16" 2 "fp8" 1 "fp8_e4m3" 1 "fp8_e5m2" 1 "fp8_e4m3fn" 1 "fp8_inc" 1 "fp8_ds_mla" 1 -}}
{{- range $key := list "dtype" "kvCacheDtype" -}}
{{- $v := get $.engine.values $key | default "auto" | toString -}}
{{- $want := get $p $key | toString -}}
{{- if and (ne $v "auto") (hasKey $bytes $v) (hasKey $bytes $want) (ne (get $bytes $v) (get $bytes $want)) -}}
{{- fail (printf "%s: %s is %s, but %s.%s is %s: the profile's bytes are for another dtype. Re-run llmcharts plan with --%s %s, or set %s to %s" (get $.engine.fields $key) $v (ternary "its weights' dtype" "the KV cache dtype" (eq $key "dtype")) $.profileField $key $want (ternary "dtype" "kv-cache-dtype" (eq $key "dtype")) $v (get $.engine.fields $key) $want) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.sizing.validate: the fit check: fails with llm-common.sizing.fit's message when one model replica does
not fit the GPUs it asks for. Parameters: those of llm-common.sizing.fit.
Usage: {{- include "llm-common.sizing.validate" (dict "context" . "profile" .Values.model.profile "profileField" "model.profile") -}}
*/}}
{{- define "llm-common.sizing.validate" -}}
{{- $fit := include "llm-common.sizing.fit" (dict "context" .context "engineContext" .engineContext "profile" .profile "profileField" .profileField "engine" .engine) | fromJson -}}
{{- if and $fit.checked (not $fit.fits) -}}
{{- fail $fit.error -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.sizing.notes: NOTES lines on the fit (parameters: those of llm-common.sizing.fit): what the profile
predicts per replica (KV cache tokens, sequences of maxModelLen at once), a WARNING when fewer than
llm-common.sizing.lowConcurrency such sequences fit, or why nothing was checked. Empty without a profile.
Usage: {{- include "llm-common.sizing.notes" (dict "context" . "profile" .Values.model.profile "profileField" "model.profile") }}
*/}}
{{- define "llm-common.sizing.notes" -}}
{{- $fit := include "llm-common.sizing.fit" (dict "context" .context "engineContext" .engineContext "profile" .profile "profileField" .profileField "engine" .engine) | fromJson -}}
{{- $gib := 1073741824.0 -}}
{{- $low := include "llm-common.sizing.lowConcurrency" (dict "context" .context) -}}
{{- if $fit.checked }}

Fit ({{ $fit.profileField }}, vLLM's memory model): {{ printf "%.1f" (divf $fit.weightsPerGpu $gib) }} GiB of weights + {{ printf "%.1f" (divf $fit.overheadBytes $gib) }} GiB overhead per GPU on {{ $fit.gpus | int }} x {{ $fit.gpu }}, leaving {{ printf "%.1f" (divf $fit.kvCacheBytes $gib) }} GiB of KV cache per GPU.
{{- if $fit.maxModelLen }}
  Predicted KV cache: {{ $fit.tokens | int }} tokens per replica, {{ printf "%.2f" $fit.concurrency }} sequences of {{ $fit.maxModelLen | int }} tokens at once.
{{- if lt $fit.concurrency ($low | float64) }}
WARNING: fewer than {{ $low }} sequences of the maximum length fit in the KV cache at once: long requests will queue behind each other. Lower {{ $fit.fields.maxModelLen }}, add GPUs, or use an fp8 KV cache (and re-run llmcharts plan).
{{- end }}
{{- else }}
  No maximum length to size the KV cache for: set {{ $fit.fields.maxModelLen }}.
{{- end }}
{{- else if $fit.why }}

Fit not checked: {{ $fit.why }}.
{{- end }}
{{- end -}}
