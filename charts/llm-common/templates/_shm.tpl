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
*/}}
{{- define "llm-common.shm.enabled" -}}
{{- $shm := .Values.shm | default dict -}}
{{- if kindIs "bool" $shm.enabled -}}
{{- if $shm.enabled -}}true{{- end -}}
{{- else if gt (include "llm-common.accelerator.count" .Values.accelerator | int) 1 -}}true
{{- end -}}
{{- end -}}

{{/*
llm-common.shm.validate: fails when shm is off for a multi-GPU pod, too small, or not below the memory limit.
*/}}
{{- define "llm-common.shm.validate" -}}
{{- $gpus := include "llm-common.accelerator.count" .Values.accelerator | int -}}
{{- if and (gt $gpus 1) (not (include "llm-common.shm.enabled" .)) -}}
{{- fail (printf "shm.enabled: false with accelerator.count=%d; NCCL needs a memory-backed /dev/shm to move tensors between GPUs. Remove shm.enabled or set it to true" $gpus) -}}
{{- end -}}
{{- if include "llm-common.shm.enabled" . -}}
{{- $size := include "llm-common.quantity.bytes" (dict "value" (required "shm.sizeLimit is required when shm is enabled (for example 16Gi)" .Values.shm.sizeLimit) "field" "shm.sizeLimit") | float64 -}}
{{- if and (gt $gpus 1) (lt $size 1073741824.0) -}}
{{- fail (printf "shm.sizeLimit: %s is smaller than needed; with %d GPUs NCCL needs at least 1Gi of /dev/shm" (toString .Values.shm.sizeLimit) $gpus) -}}
{{- end -}}
{{- $limit := ((.Values.resources | default dict).limits | default dict).memory -}}
{{- if not $limit -}}
{{- fail "resources.limits.memory is required when shm is enabled: a memory-backed /dev/shm counts against the container's memory limit, so the limit must be set and larger than shm.sizeLimit" -}}
{{- end -}}
{{- $limitBytes := include "llm-common.quantity.bytes" (dict "value" $limit "field" "resources.limits.memory") | float64 -}}
{{- if ge $size $limitBytes -}}
{{- fail (printf "shm.sizeLimit: %s must be smaller than resources.limits.memory (%s): /dev/shm is memory-backed and counts against that limit, leaving nothing for the engine" (toString .Values.shm.sizeLimit) (toString $limit)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.shm.volume / llm-common.shm.volumeMount: list items for volumes / volumeMounts, or nothing.
*/}}
{{- define "llm-common.shm.volume" -}}
{{- if include "llm-common.shm.enabled" . }}
- name: dshm
  emptyDir:
    medium: Memory
    sizeLimit: {{ .Values.shm.sizeLimit }}
{{- end -}}
{{- end -}}

{{- define "llm-common.shm.volumeMount" -}}
{{- if include "llm-common.shm.enabled" . }}
- name: dshm
  mountPath: /dev/shm
{{- end -}}
{{- end -}}
