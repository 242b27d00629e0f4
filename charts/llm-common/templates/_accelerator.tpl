{{/*
Accelerators: GPU resources, the GPU taint toleration and node selection by GPU product.

Values read (see schemas/accelerator.schema.yaml):
  accelerator.type           nvidia | amd | cpu
  accelerator.count          GPUs per pod (ignored for cpu)
  accelerator.product        GPU product node label value, e.g. NVIDIA-A100-SXM4-80GB (default: global.gpuProduct)
  accelerator.productLabel   node label key (default nvidia.com/gpu.product, or amd.com/gpu.product-name)
  accelerator.tolerateTaint  tolerate the "<resource> Exists NoSchedule" taint GPU node pools carry
*/}}

{{/*
llm-common.accelerator.resourceName: "nvidia.com/gpu", "amd.com/gpu", or "" for cpu.
Usage: {{ include "llm-common.accelerator.resourceName" (dict "context" .) }}
*/}}
{{- define "llm-common.accelerator.resourceName" -}}
{{- $type := (.context.Values.accelerator | default dict).type | default "nvidia" -}}
{{- if eq $type "nvidia" -}}nvidia.com/gpu
{{- else if eq $type "amd" -}}amd.com/gpu
{{- else if eq $type "cpu" -}}
{{- else -}}
{{- fail (printf "%s: %q is not supported; allowed: nvidia, amd, cpu" (include "llm-common.context.field" (dict "context" .context "field" "accelerator.type")) $type) -}}
{{- end -}}
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
{{- if or (hasSuffix "/gpu" $k) (hasPrefix "nvidia.com/" $k) (hasPrefix "amd.com/" $k) -}}
{{- fail (printf "%s.%s: do not set GPUs in resources; set %s (requests and limits are both derived from it)" (include "llm-common.context.field" (dict "context" $ctx "field" (printf "resources.%s" $section))) $k (include "llm-common.context.field" (dict "context" $ctx "field" "accelerator.count"))) -}}
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
{{- $gpu := include "llm-common.accelerator.resourceName" (dict "context" .context) -}}
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
{{- $label := $acc.productLabel | default (ternary "nvidia.com/gpu.product" "amd.com/gpu.product-name" (eq $gpu "nvidia.com/gpu")) -}}
{{- $_ := set $sel $label $product -}}
{{- end -}}
{{- if $sel }}
nodeSelector:
{{- toYaml $sel | nindent 2 }}
{{- end -}}
{{- end -}}
