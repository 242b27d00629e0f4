{{/*
Accelerators: GPU resources, the GPU taint toleration and node selection by GPU product.

Values read (see schemas/accelerator.schema.yaml):
  accelerator.type           nvidia | amd | cpu
  accelerator.count          GPUs per pod (ignored for cpu)
  accelerator.product        GPU product node label value, e.g. NVIDIA-A100-SXM4-80GB (default: global.gpuProduct)
  accelerator.productLabel   node label key (default nvidia.com/gpu.product, or amd.com/gpu.product-name)
  accelerator.tolerateTaint  tolerate the "<vendor>/gpu Exists NoSchedule" taint GPU node pools carry
  accelerator.migProfile     NVIDIA MIG slice (e.g. 3g.40gb): the pod asks for nvidia.com/mig-<profile> (the device
                             plugin's "mixed" strategy) instead of whole GPUs
*/}}

{{/*
llm-common.accelerator.resourceName: "nvidia.com/gpu", "nvidia.com/mig-<accelerator.migProfile>", "amd.com/gpu", or
"" for cpu.
Usage: {{ include "llm-common.accelerator.resourceName" (dict "context" .) }}
*/}}
{{- define "llm-common.accelerator.resourceName" -}}
{{- $acc := .context.Values.accelerator | default dict -}}
{{- $type := $acc.type | default "nvidia" -}}
{{- if and $acc.migProfile (ne $type "nvidia") -}}
{{- fail (printf "%s: MIG slices are NVIDIA's; with %s=%s leave it empty" (include "llm-common.context.field" (dict "context" .context "field" "accelerator.migProfile")) (include "llm-common.context.field" (dict "context" .context "field" "accelerator.type")) $type) -}}
{{- end -}}
{{- if and (eq $type "nvidia") $acc.migProfile -}}nvidia.com/mig-{{ $acc.migProfile }}
{{- else if eq $type "nvidia" -}}nvidia.com/gpu
{{- else if eq $type "amd" -}}amd.com/gpu
{{- else if eq $type "cpu" -}}
{{- else -}}
{{- fail (printf "%s: %q is not supported; allowed: nvidia, amd, cpu" (include "llm-common.context.field" (dict "context" .context "field" "accelerator.type")) $type) -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.accelerator.taintKey: the key of the taint GPU node pools carry, "<vendor>/gpu" (a MIG node pool keeps
nvidia.com/gpu), or "" for cpu.
Usage: {{ include "llm-common.accelerator.taintKey" (dict "context" .) }}
*/}}
{{- define "llm-common.accelerator.taintKey" -}}
{{- $gpu := include "llm-common.accelerator.resourceName" (dict "context" .context) -}}
{{- if $gpu -}}{{ index (splitList "/" $gpu) 0 }}/gpu{{- end -}}
{{- end -}}

{{/*
llm-common.accelerator.count: GPUs per pod as an integer string ("0" for cpu).
Usage: {{ include "llm-common.accelerator.count" (dict "context" .) | int }}
*/}}
{{- define "llm-common.accelerator.count" -}}
{{- $acc := .context.Values.accelerator | default dict -}}
{{- if include "llm-common.accelerator.resourceName" (dict "context" .context) -}}
{{- $n := int ($acc.count | default 0) -}}
{{- if lt $n 1 -}}
{{- $type := include "llm-common.context.field" (dict "context" .context "field" "accelerator.type") -}}
{{- fail (printf "%s: %d GPUs with %s=%s; set at least 1, or %s: cpu" (include "llm-common.context.field" (dict "context" .context "field" "accelerator.count")) $n $type $acc.type $type) -}}
{{- end -}}
{{- if and $acc.migProfile (ne $n 1) -}}
{{- fail (printf "%s: %d MIG slices; a CUDA process uses one MIG device, so a replica gets exactly one slice: set 1 (with tensor and pipeline parallel size 1), or use whole GPUs (leave %s empty)" (include "llm-common.context.field" (dict "context" .context "field" "accelerator.count")) $n (include "llm-common.context.field" (dict "context" .context "field" "accelerator.migProfile"))) -}}
{{- end -}}
{{- $n -}}
{{- else -}}0{{- end -}}
{{- end -}}

{{/*
llm-common.accelerator.resources: .Values.resources with the GPUs of .Values.accelerator added to requests and limits.
Extended resources must have request = limit; the chart sets both from accelerator.count so they cannot drift,
and refuses GPU keys written into resources by hand.
Usage: resources: {{- include "llm-common.accelerator.resources" (dict "context" .) | nindent 12 }}
*/}}
{{- define "llm-common.accelerator.resources" -}}
{{- $ctx := .context -}}
{{- $res := deepCopy ($ctx.Values.resources | default dict) -}}
{{- $gpu := include "llm-common.accelerator.resourceName" (dict "context" .context) -}}
{{- range $section := list "requests" "limits" -}}
{{- range $k, $_ := (get $res $section | default dict) -}}
{{- if hasPrefix "nvidia.com/mig-" $k -}}
{{- fail (printf "%s.%s: do not set GPUs in resources; for a MIG slice set %s: %s and %s: 1 (requests and limits are both derived from them)" (include "llm-common.context.field" (dict "context" $ctx "field" (printf "resources.%s" $section))) $k (include "llm-common.context.field" (dict "context" $ctx "field" "accelerator.migProfile")) (trimPrefix "nvidia.com/mig-" $k) (include "llm-common.context.field" (dict "context" $ctx "field" "accelerator.count"))) -}}
{{- else if or (hasSuffix "/gpu" $k) (hasPrefix "nvidia.com/" $k) (hasPrefix "amd.com/" $k) -}}
{{- fail (printf "%s.%s: do not set GPUs in resources; set %s (requests and limits are both derived from it)" (include "llm-common.context.field" (dict "context" $ctx "field" (printf "resources.%s" $section))) $k (include "llm-common.context.field" (dict "context" $ctx "field" "accelerator.count"))) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- /* The API server refuses a request above its limit (pkg/apis/core/validation/validation.go,
ValidateResourceRequirements: "must be less than or equal to <resource> limit"). */ -}}
{{- range $name := list "memory" "ephemeral-storage" -}}
{{- $req := get ($res.requests | default dict) $name -}}
{{- $lim := get ($res.limits | default dict) $name -}}
{{- if and $req $lim -}}
{{- $f := include "llm-common.context.field" (dict "context" $ctx "field" (printf "resources.requests.%s" $name)) -}}
{{- if gt (include "llm-common.quantity.bytes" (dict "context" $ctx "value" $req "field" (printf "resources.requests.%s" $name)) | float64) (include "llm-common.quantity.bytes" (dict "context" $ctx "value" $lim "field" (printf "resources.limits.%s" $name)) | float64) -}}
{{- fail (printf "%s: %v is above resources.limits.%s (%v); Kubernetes refuses a request above its limit: lower the request or raise the limit" $f $req $name $lim) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- with (get ($res.requests | default dict) "cpu") -}}
{{- $lim := get ($res.limits | default dict) "cpu" -}}
{{- if $lim -}}
{{- $toCores := dict "req" (toString .) "lim" (toString $lim) -}}
{{- $c := dict -}}
{{- range $k, $q := $toCores -}}
{{- if not (regexMatch "^[0-9]+(\\.[0-9]+)?m?$" $q) -}}
{{- fail (printf "%s: %q is not a CPU quantity (examples: 4, 500m, 1.5)" (include "llm-common.context.field" (dict "context" $ctx "field" (printf "resources.%s.cpu" (ternary "requests" "limits" (eq $k "req"))))) $q) -}}
{{- end -}}
{{- $_ := set $c $k (ternary (divf (trimSuffix "m" $q | float64) 1000.0) ($q | float64) (hasSuffix "m" $q)) -}}
{{- end -}}
{{- if gt $c.req $c.lim -}}
{{- fail (printf "%s: %v is above resources.limits.cpu (%v); Kubernetes refuses a request above its limit: lower the request or raise the limit" (include "llm-common.context.field" (dict "context" $ctx "field" "resources.requests.cpu")) . $lim) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $gpu -}}
{{- $n := include "llm-common.accelerator.count" (dict "context" .context) | int -}}
{{- $_ := set $res "requests" (merge (dict $gpu $n) ($res.requests | default dict)) -}}
{{- $_ := set $res "limits" (merge (dict $gpu $n) ($res.limits | default dict)) -}}
{{- end -}}
{{- toYaml $res -}}
{{- end -}}

{{/*
llm-common.accelerator.tolerations: the GPU taint toleration (for GPU pods), then global.tolerations and
.Values.tolerations. Renders a "tolerations:" key, or nothing when the list is empty.
Usage: {{- include "llm-common.accelerator.tolerations" (dict "context" .) | nindent 6 }}
*/}}
{{- define "llm-common.accelerator.tolerations" -}}
{{- $v := .context.Values -}}
{{- $list := list -}}
{{- $gpu := include "llm-common.accelerator.taintKey" (dict "context" .context) -}}
{{- if and $gpu (ne false $v.accelerator.tolerateTaint) -}}
{{- $list = append $list (dict "key" $gpu "operator" "Exists" "effect" "NoSchedule") -}}
{{- end -}}
{{- $list = concat $list (($v.global | default dict).tolerations | default list) ($v.tolerations | default list) -}}
{{- if $list }}
tolerations:
{{- toYaml ($list | uniq) | nindent 2 }}
{{- end -}}
{{- end -}}

{{/*
llm-common.accelerator.nodeSelector: GPU product selection (accelerator.product, else global.gpuProduct) merged
with .Values.nodeSelector. Renders a "nodeSelector:" key, or nothing.
Usage: {{- include "llm-common.accelerator.nodeSelector" (dict "context" .) | nindent 6 }}
*/}}
{{- define "llm-common.accelerator.nodeSelector" -}}
{{- $v := .context.Values -}}
{{- $sel := deepCopy ($v.nodeSelector | default dict) -}}
{{- $acc := $v.accelerator -}}
{{- $gpu := include "llm-common.accelerator.resourceName" (dict "context" .context) -}}
{{- $product := $acc.product | default (($v.global | default dict).gpuProduct) -}}
{{- if and $gpu $product -}}
{{- include "llm-common.gpus.validateProduct" (dict "context" .context) -}}
{{- $label := $acc.productLabel | default (ternary "nvidia.com/gpu.product" "amd.com/gpu.product-name" (hasPrefix "nvidia.com/" $gpu)) -}}
{{- $_ := set $sel $label $product -}}
{{- end -}}
{{- if $sel }}
nodeSelector:
{{- toYaml $sel | nindent 2 }}
{{- end -}}
{{- end -}}
