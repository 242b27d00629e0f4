{{/*
Model storage: where the weights live, mounted at modelStorage.mountPath.

Values read (schemas/model-storage.schema.yaml):
  modelStorage.type           none | existingClaim | pvc | emptyDir | hostPath
  modelStorage.mountPath      e.g. /models
  modelStorage.readOnly       mount read-only (a shared, pre-filled volume)
  modelStorage.existingClaim  PVC name, for type existingClaim
  modelStorage.pvc            {size, storageClass, accessModes, annotations}, for type pvc (the chart creates it)
  modelStorage.emptyDir       {sizeLimit}, for type emptyDir (a per-pod download cache)
  modelStorage.hostPath       {path, type}, for type hostPath (node-local pre-pulled weights)
  modelStorage.hfHome         point HF_HOME at the volume so Hub downloads are cached there (ignored when readOnly)
*/}}

{{/*
llm-common.storage.claimName: the PVC name for existingClaim / pvc, else "".
*/}}
{{- define "llm-common.storage.claimName" -}}
{{- $s := .Values.modelStorage -}}
{{- if eq $s.type "existingClaim" -}}
{{- required "modelStorage.existingClaim is required when modelStorage.type is existingClaim (the name of a PVC in the release namespace)" $s.existingClaim -}}
{{- else if eq $s.type "pvc" -}}
{{- printf "%s-models" (include "llm-common.names.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.storage.volume: the "models" volume list item, or nothing for type none.
*/}}
{{- define "llm-common.storage.volume" -}}
{{- $s := .Values.modelStorage -}}
{{- if eq $s.type "none" -}}
{{- else if or (eq $s.type "existingClaim") (eq $s.type "pvc") }}
- name: models
  persistentVolumeClaim:
    claimName: {{ include "llm-common.storage.claimName" . }}
    {{- if $s.readOnly }}
    readOnly: true
    {{- end }}
{{- else if eq $s.type "emptyDir" }}
- name: models
  emptyDir:
    {{- with ($s.emptyDir | default dict).sizeLimit }}
    sizeLimit: {{ . }}
    {{- end }}
{{- else if eq $s.type "hostPath" }}
- name: models
  hostPath:
    path: {{ required "modelStorage.hostPath.path is required when modelStorage.type is hostPath" ($s.hostPath | default dict).path }}
    type: {{ ($s.hostPath | default dict).type | default "Directory" }}
{{- else -}}
{{- fail (printf "modelStorage.type: %q is not supported; allowed: none, existingClaim, pvc, emptyDir, hostPath" (toString $s.type)) -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.storage.volumeMount: the "models" volumeMounts list item, or nothing.
*/}}
{{- define "llm-common.storage.volumeMount" -}}
{{- $s := .Values.modelStorage -}}
{{- if ne $s.type "none" }}
- name: models
  mountPath: {{ $s.mountPath }}
  {{- if $s.readOnly }}
  readOnly: true
  {{- end }}
{{- end -}}
{{- end -}}

{{/*
llm-common.storage.env: HF_HOME on the model volume (when writable and modelStorage.hfHome), then the
Hugging Face token from a Secret. Renders env list items, or nothing.
The token's Secret is hfToken.secretName / hfToken.secretKey, else global.hfToken.secretName / .secretKey.
Usage: {{- include "llm-common.storage.env" (dict "context" . "tokenEnv" (list "HF_TOKEN")) | nindent 12 }}
*/}}
{{- define "llm-common.storage.env" -}}
{{- $ctx := .context -}}
{{- $s := $ctx.Values.modelStorage -}}
{{- if and (ne $s.type "none") $s.hfHome (not $s.readOnly) }}
- name: HF_HOME
  value: {{ printf "%s/huggingface" (trimSuffix "/" $s.mountPath) | quote }}
{{- end -}}
{{- $tok := include "llm-common.storage.hfTokenRef" $ctx | fromYaml -}}
{{- if $tok.name -}}
{{- range (.tokenEnv | default (list "HF_TOKEN")) }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ $tok.name }}
      key: {{ $tok.key }}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.storage.hfTokenRef: "name: ...\nkey: ..." of the Hugging Face token Secret: the chart's hfToken when it
names a Secret, else global.hfToken (name and key taken together, never mixed).
*/}}
{{- define "llm-common.storage.hfTokenRef" -}}
{{- $local := .Values.hfToken | default dict -}}
{{- $global := ((.Values.global | default dict).hfToken) | default dict -}}
{{- if $local.secretName }}
name: {{ $local.secretName }}
key: {{ $local.secretKey | default "token" }}
{{- else if $global.secretName }}
name: {{ $global.secretName }}
key: {{ $global.secretKey | default "token" }}
{{- end -}}
{{- end -}}

{{/*
llm-common.storage.pvc: the PersistentVolumeClaim object for modelStorage.type=pvc, or nothing.
The claim is kept on `helm uninstall` (helm.sh/resource-policy: keep): re-downloading 140 GB of weights is
the expensive mistake to avoid.
*/}}
{{- define "llm-common.storage.pvc" -}}
{{- $s := .Values.modelStorage -}}
{{- if eq $s.type "pvc" -}}
{{- $pvc := $s.pvc | default dict -}}
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{ include "llm-common.storage.claimName" . }}
  namespace: {{ include "llm-common.names.namespace" . }}
  labels:
    {{- include "llm-common.labels.standard" (dict "context" . "component" "model-storage") | nindent 4 }}
  annotations:
    helm.sh/resource-policy: keep
    {{- with $pvc.annotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  accessModes:
    {{- toYaml ($pvc.accessModes | default (list "ReadWriteOnce")) | nindent 4 }}
  {{- $class := $pvc.storageClass | default ((.Values.global | default dict).storageClass) }}
  {{- if $class }}
  storageClassName: {{ ternary "" $class (eq $class "-") | quote }}
  {{- end }}
  resources:
    requests:
      storage: {{ required "modelStorage.pvc.size is required when modelStorage.type is pvc (for example 200Gi)" $pvc.size }}
{{- end -}}
{{- end -}}
