{{/*
Environment variables: Secret references, the API key, and the user's extraEnv.
*/}}

{{/*
llm-common.env.secretRef: one env list item read from a Secret key.
Parameters: context, name (the variable), secret (the Secret's name), key (its key)
Usage: {{- include "llm-common.env.secretRef" (dict "context" . "name" "HF_TOKEN" "secret" $secret "key" "token") | nindent 12 }}
*/}}
{{- define "llm-common.env.secretRef" -}}
- name: {{ .name | quote }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret | quote }}
      key: {{ .key }}
{{- end -}}

{{/*
llm-common.env.apiKeyRef: the API key clients must send, as JSON {"secretName", "secretKey"} of .Values.apiKey (a key
of a Secret, never a literal), or {} when the chart sets no key. Fails when apiKey.secretName is set without
apiKey.secretKey. The engine charts read it for their engine's variable (llm-common.env.apiKey) and for the gateway
in front of them (<chart>.gatewayBackends).
Usage: {{- $key := include "llm-common.env.apiKeyRef" (dict "context" .) | fromJson -}}
*/}}
{{- define "llm-common.env.apiKeyRef" -}}
{{- $key := .context.Values.apiKey | default dict -}}
{{- if $key.secretName -}}
{{- if not $key.secretKey -}}
{{- fail (printf "%s is required when %s is set" (include "llm-common.context.field" (dict "context" .context "field" "apiKey.secretKey")) (include "llm-common.context.field" (dict "context" .context "field" "apiKey.secretName"))) -}}
{{- end -}}
{{- toJson (dict "secretName" $key.secretName "secretKey" $key.secretKey) -}}
{{- else -}}
{{- toJson dict -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.env.apiKey: the env list item that gives the engine its API key from .Values.apiKey's Secret (the engine
reads it from "name": VLLM_API_KEY for vLLM, API_KEY for TGI; a flag would put the key in the pod spec), or nothing
when the chart sets no key.
Usage: {{- include "llm-common.env.apiKey" (dict "context" . "name" "VLLM_API_KEY") | nindent 12 }}
*/}}
{{- define "llm-common.env.apiKey" -}}
{{- $key := include "llm-common.env.apiKeyRef" (dict "context" .context) | fromJson -}}
{{- if $key.secretName -}}
{{- include "llm-common.env.secretRef" (dict "context" .context "name" .name "secret" $key.secretName "key" $key.secretKey) -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.env.extraEnv: .Values.extraEnv (a list of EnvVar) as list items, after checks:
  - a variable whose name looks secret-like (TOKEN, SECRET, PASSWORD, API_KEY, ACCESS_KEY, CREDENTIAL)
    must come from valueFrom.secretKeyRef, never a literal value: literals end up in `helm get values`,
    in the release Secret and in every `kubectl get -o yaml`;
  - CUDA_VISIBLE_DEVICES / NVIDIA_VISIBLE_DEVICES are refused: the device plugin decides which GPUs a
    container sees, and a hand-set list points at devices the container was not given;
  - a literal value in a well-known token format (llm-common.secrets.tokenKind) is refused whatever the name.
Usage: {{- include "llm-common.env.extraEnv" (dict "context" .) | nindent 12 }}
*/}}
{{- define "llm-common.env.extraEnv" -}}
{{- $ctx := .context -}}
{{- $field := include "llm-common.context.field" (dict "context" $ctx "field" "extraEnv") -}}
{{- range $i, $e := ($ctx.Values.extraEnv | default list) -}}
{{- $name := toString $e.name -}}
{{- if has $name (list "CUDA_VISIBLE_DEVICES" "NVIDIA_VISIBLE_DEVICES" "HIP_VISIBLE_DEVICES" "ROCR_VISIBLE_DEVICES") -}}
{{- fail (printf "%s[%d].name: %s must not be set by hand; the GPU device plugin assigns devices to the container (set %s instead)" $field $i $name (include "llm-common.context.field" (dict "context" $ctx "field" "accelerator.count"))) -}}
{{- end -}}
{{- if and (regexMatch "(?i)(TOKEN|SECRET|PASSW|API_?KEY|ACCESS_KEY|CREDENTIAL|PRIVATE_KEY)" $name) (hasKey $e "value") -}}
{{- fail (printf "%s[%d] (%s): a secret-like variable must not hold a literal value; use valueFrom.secretKeyRef with a Secret name and key" $field $i $name) -}}
{{- end -}}
{{- if hasKey $e "value" -}}
{{- include "llm-common.secrets.refuse" (dict "context" $ctx "at" (printf "%s[%d].value" $field $i) "name" "" "value" $e.value "wayOut" "use valueFrom.secretKeyRef with a Secret name and key") -}}
{{- end -}}
{{- end -}}
{{- with $ctx.Values.extraEnv }}
{{ toYaml . }}
{{- end -}}
{{- end -}}
