{{/*
Shared memory. NCCL moves tensors between the GPUs of one pod through /dev/shm, and the container runtime's
default /dev/shm is 64Mi, so tensor/pipeline parallel engines need a memory-backed emptyDir there.
A Memory emptyDir counts against the container's memory limit, so the chart requires a memory limit and a
sizeLimit below it.

Values read (schemas/shm.schema.yaml):
  shm.enabled     true | false | null (null = on whenever accelerator.count > 1)
  shm.sizeLimit   e.g. 16Gi; at least 1Gi when more than one GPU is used
*/}}

{{/*
llm-common.shm.enabled: "true" or "" (empty = off).
Usage: {{- if include "llm-common.shm.enabled" (dict "context" .) }}
*/}}
{{- define "llm-common.shm.enabled" -}}
{{- $shm := .context.Values.shm | default dict -}}
{{- if kindIs "bool" $shm.enabled -}}
{{- if $shm.enabled -}}true{{- end -}}
{{- else if gt (include "llm-common.accelerator.count" (dict "context" .context) | int) 1 -}}true
{{- end -}}
{{- end -}}

{{/*
llm-common.shm.validate: fails when shm is off for a multi-GPU pod, too small, or not below the memory limit
(resources.limits.memory of the context: a KServe model's own limit against the runtime's /dev/shm, for example).
Usage: {{- include "llm-common.shm.validate" (dict "context" .) -}}
*/}}
{{- define "llm-common.shm.validate" -}}
{{- $ctx := .context -}}
{{- $f := dict -}}
{{- range list "shm.enabled" "shm.sizeLimit" "accelerator.count" "resources.limits.memory" -}}
{{- $_ := set $f . (include "llm-common.context.field" (dict "context" $ctx "field" .)) -}}
{{- end -}}
{{- $gpus := include "llm-common.accelerator.count" (dict "context" .context) | int -}}
{{- if and (gt $gpus 1) (not (include "llm-common.shm.enabled" (dict "context" .context))) -}}
{{- fail (printf "%s: false with %s=%d; NCCL needs a memory-backed /dev/shm to move tensors between GPUs. Remove %s or set it to true" (get $f "shm.enabled") (get $f "accelerator.count") $gpus (get $f "shm.enabled")) -}}
{{- end -}}
{{- if include "llm-common.shm.enabled" (dict "context" .context) -}}
{{- $sizeLimit := required (printf "%s is required when shm is enabled (for example 16Gi)" (get $f "shm.sizeLimit")) $ctx.Values.shm.sizeLimit -}}
{{- $size := include "llm-common.quantity.bytes" (dict "context" $ctx "value" $sizeLimit "field" "shm.sizeLimit") | float64 -}}
{{- if and (gt $gpus 1) (lt $size 1073741824.0) -}}
{{- fail (printf "%s: %s is smaller than needed; with %d GPUs NCCL needs at least 1Gi of /dev/shm" (get $f "shm.sizeLimit") (toString $sizeLimit) $gpus) -}}
{{- end -}}
{{- $limit := (($ctx.Values.resources | default dict).limits | default dict).memory -}}
{{- if not $limit -}}
{{- fail (printf "%s is required when shm is enabled: a memory-backed /dev/shm counts against the container's memory limit, so the limit must be set and larger than %s" (get $f "resources.limits.memory") (get $f "shm.sizeLimit")) -}}
{{- end -}}
{{- $limitBytes := include "llm-common.quantity.bytes" (dict "context" $ctx "value" $limit "field" "resources.limits.memory") | float64 -}}
{{- if ge $size $limitBytes -}}
{{- fail (printf "%s: %s must be smaller than %s (%s): /dev/shm is memory-backed and counts against that limit, leaving nothing for the engine" (get $f "shm.sizeLimit") (toString $sizeLimit) (get $f "resources.limits.memory") (toString $limit)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.shm.volume: the "dshm" volumes list item (a memory-backed emptyDir), or nothing when shm is off.
Usage: {{- include "llm-common.shm.volume" (dict "context" .) | nindent 8 }}
*/}}
{{- define "llm-common.shm.volume" -}}
{{- if include "llm-common.shm.enabled" (dict "context" .context) }}
- name: dshm
  emptyDir:
    medium: Memory
    sizeLimit: {{ .context.Values.shm.sizeLimit }}
{{- end -}}
{{- end -}}

{{/*
llm-common.shm.volumeMount: the volumeMounts list item of "dshm" at /dev/shm, or nothing when shm is off.
Usage: {{- include "llm-common.shm.volumeMount" (dict "context" .) | nindent 12 }}
*/}}
{{- define "llm-common.shm.volumeMount" -}}
{{- if include "llm-common.shm.enabled" (dict "context" .context) }}
- name: dshm
  mountPath: /dev/shm
{{- end -}}
{{- end -}}
