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
Usage: {{ include "llm-common.accelerator.resourceName" .Values.accelerator }}
*/}}
{{- define "llm-common.accelerator.resourceName" -}}
{{- $type := .type | default "nvidia" -}}
{{- if eq $type "nvidia" -}}nvidia.com/gpu
{{- else if eq $type "amd" -}}amd.com/gpu
{{- else if eq $type "cpu" -}}
{{- else -}}
{{- fail (printf "accelerator.type: %q is not supported; allowed: nvidia, amd, cpu" $type) -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.accelerator.count: GPUs per pod as an integer string ("0" for cpu).
Usage: {{ include "llm-common.accelerator.count" .Values.accelerator | int }}
*/}}
{{- define "llm-common.accelerator.count" -}}
{{- if include "llm-common.accelerator.resourceName" . -}}
{{- $n := int (.count | default 0) -}}
{{- if lt $n 1 -}}
{{- fail (printf "accelerator.count: %d GPUs with accelerator.type=%s; set at least 1, or accelerator.type: cpu" $n .type) -}}
{{- end -}}
{{- $n -}}
{{- else -}}0{{- end -}}
{{- end -}}

{{/*
llm-common.accelerator.resources: the container's resources with the GPUs added to requests and limits.
Extended resources must have request = limit; the chart sets both from accelerator.count so they cannot drift,
and refuses GPU keys written into resources by hand.
Usage: resources: {{- include "llm-common.accelerator.resources" (dict "resources" .Values.resources "accelerator" .Values.accelerator) | nindent 12 }}
Optional "field" names the resources value in error messages (default "resources"), e.g. "worker.resources".
*/}}
{{- define "llm-common.accelerator.resources" -}}
{{- $field := .field | default "resources" -}}
{{- $res := deepCopy (.resources | default dict) -}}
{{- $gpu := include "llm-common.accelerator.resourceName" .accelerator -}}
{{- range $section := list "requests" "limits" -}}
{{- range $k, $_ := (get $res $section | default dict) -}}
{{- if or (hasSuffix "/gpu" $k) (hasPrefix "nvidia.com/" $k) (hasPrefix "amd.com/" $k) -}}
{{- fail (printf "%s.%s.%s: do not set GPUs in resources; set accelerator.count (requests and limits are both derived from it)" $field $section $k) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $gpu -}}
{{- $n := include "llm-common.accelerator.count" .accelerator | int -}}
{{- $_ := set $res "requests" (merge (dict $gpu $n) ($res.requests | default dict)) -}}
{{- $_ := set $res "limits" (merge (dict $gpu $n) ($res.limits | default dict)) -}}
{{- end -}}
{{- toYaml $res -}}
{{- end -}}

{{/*
llm-common.accelerator.tolerations: the GPU taint toleration (for GPU pods), then global.tolerations and
.Values.tolerations. Renders a "tolerations:" key, or nothing when the list is empty.
Usage: {{- include "llm-common.accelerator.tolerations" . | nindent 6 }}
*/}}
{{- define "llm-common.accelerator.tolerations" -}}
{{- $list := list -}}
{{- $gpu := include "llm-common.accelerator.resourceName" .Values.accelerator -}}
{{- if and $gpu (ne false .Values.accelerator.tolerateTaint) -}}
{{- $list = append $list (dict "key" $gpu "operator" "Exists" "effect" "NoSchedule") -}}
{{- end -}}
{{- $list = concat $list ((.Values.global | default dict).tolerations | default list) (.Values.tolerations | default list) -}}
{{- if $list }}
tolerations:
{{- toYaml ($list | uniq) | nindent 2 }}
{{- end -}}
{{- end -}}

{{/*
llm-common.accelerator.nodeSelector: GPU product selection (accelerator.product, else global.gpuProduct) merged
with .Values.nodeSelector. Renders a "nodeSelector:" key, or nothing.
Usage: {{- include "llm-common.accelerator.nodeSelector" . | nindent 6 }}
*/}}
{{- define "llm-common.accelerator.nodeSelector" -}}
{{- $sel := deepCopy (.Values.nodeSelector | default dict) -}}
{{- $acc := .Values.accelerator -}}
{{- $gpu := include "llm-common.accelerator.resourceName" $acc -}}
{{- $product := $acc.product | default ((.Values.global | default dict).gpuProduct) -}}
{{- if and $gpu $product -}}
{{- $label := $acc.productLabel | default (ternary "nvidia.com/gpu.product" "amd.com/gpu.product-name" (eq $gpu "nvidia.com/gpu")) -}}
{{- $_ := set $sel $label $product -}}
{{- end -}}
{{- if $sel }}
nodeSelector:
{{- toYaml $sel | nindent 2 }}
{{- end -}}
{{- end -}}
