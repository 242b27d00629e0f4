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
Optional .fieldPrefix in the context (e.g. "worker.") prefixes the value paths in the messages, for charts that
pass a per-group context whose Values hold that group's accelerator, shm and resources.
*/}}
{{- define "llm-common.shm.validate" -}}
{{- $f := .fieldPrefix | default "" -}}
{{- $gpus := include "llm-common.accelerator.count" .Values.accelerator | int -}}
{{- if and (gt $gpus 1) (not (include "llm-common.shm.enabled" .)) -}}
{{- fail (printf "%sshm.enabled: false with %saccelerator.count=%d; NCCL needs a memory-backed /dev/shm to move tensors between GPUs. Remove %sshm.enabled or set it to true" $f $f $gpus $f) -}}
{{- end -}}
{{- if include "llm-common.shm.enabled" . -}}
{{- $size := include "llm-common.quantity.bytes" (dict "value" (required (printf "%sshm.sizeLimit is required when shm is enabled (for example 16Gi)" $f) .Values.shm.sizeLimit) "field" (printf "%sshm.sizeLimit" $f)) | float64 -}}
{{- if and (gt $gpus 1) (lt $size 1073741824.0) -}}
{{- fail (printf "%sshm.sizeLimit: %s is smaller than needed; with %d GPUs NCCL needs at least 1Gi of /dev/shm" $f (toString .Values.shm.sizeLimit) $gpus) -}}
{{- end -}}
{{- $limit := ((.Values.resources | default dict).limits | default dict).memory -}}
{{- if not $limit -}}
{{- fail (printf "%sresources.limits.memory is required when shm is enabled: a memory-backed /dev/shm counts against the container's memory limit, so the limit must be set and larger than %sshm.sizeLimit" $f $f) -}}
{{- end -}}
{{- $limitBytes := include "llm-common.quantity.bytes" (dict "value" $limit "field" (printf "%sresources.limits.memory" $f)) | float64 -}}
{{- if ge $size $limitBytes -}}
{{- fail (printf "%sshm.sizeLimit: %s must be smaller than %sresources.limits.memory (%s): /dev/shm is memory-backed and counts against that limit, leaving nothing for the engine" $f (toString .Values.shm.sizeLimit) $f (toString $limit)) -}}
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
