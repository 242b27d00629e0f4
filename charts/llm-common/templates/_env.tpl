{{/*
Environment variables.
*/}}

{{/*
llm-common.env.secretRef: one env list item read from a Secret key.
Usage: {{- include "llm-common.env.secretRef" (dict "name" "VLLM_API_KEY" "secret" .Values.apiKey.secretName "key" .Values.apiKey.secretKey) | nindent 12 }}
*/}}
{{- define "llm-common.env.secretRef" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
{{- end -}}

{{/*
llm-common.env.extraEnv: .Values.extraEnv (a list of EnvVar) after checks:
  - a variable whose name looks secret-like (TOKEN, SECRET, PASSWORD, API_KEY, ACCESS_KEY, CREDENTIAL)
    must come from valueFrom.secretKeyRef, never a literal value: literals end up in `helm get values`,
    in the release Secret and in every `kubectl get -o yaml`;
  - CUDA_VISIBLE_DEVICES / NVIDIA_VISIBLE_DEVICES are refused: the device plugin decides which GPUs a
    container sees, and a hand-set list points at devices the container was not given.
Optional .fieldPrefix in the context (e.g. "worker.") prefixes "extraEnv" in error messages, for charts that pass a
per-group context.
*/}}
{{- define "llm-common.env.extraEnv" -}}
{{- $f := .fieldPrefix | default "" -}}
{{- range $i, $e := (.Values.extraEnv | default list) -}}
{{- $name := toString $e.name -}}
{{- if has $name (list "CUDA_VISIBLE_DEVICES" "NVIDIA_VISIBLE_DEVICES" "HIP_VISIBLE_DEVICES" "ROCR_VISIBLE_DEVICES") -}}
{{- fail (printf "%sextraEnv[%d].name: %s must not be set by hand; the GPU device plugin assigns devices to the container (set %saccelerator.count instead)" $f $i $name $f) -}}
{{- end -}}
{{- if and (regexMatch "(?i)(TOKEN|SECRET|PASSW|API_?KEY|ACCESS_KEY|CREDENTIAL|PRIVATE_KEY)" $name) (hasKey $e "value") -}}
{{- fail (printf "%sextraEnv[%d] (%s): a secret-like variable must not hold a literal value; use valueFrom.secretKeyRef with a Secret name and key" $f $i $name) -}}
{{- end -}}
{{- end -}}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end -}}
{{- end -}}
