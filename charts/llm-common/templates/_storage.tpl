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
llm-common.storage.validate refuses a ReadWriteOnce volume the chart creates for more than one pod.
*/}}

{{/*
llm-common.storage.claimName: the PVC name for existingClaim / pvc, else "".
Usage: {{ include "llm-common.storage.claimName" (dict "context" .) }}
*/}}
{{- define "llm-common.storage.claimName" -}}
{{- $s := .context.Values.modelStorage -}}
{{- if eq $s.type "existingClaim" -}}
{{- required (printf "%s is required when %s is existingClaim (the name of a PVC in the release namespace)" (include "llm-common.context.field" (dict "context" .context "field" "modelStorage.existingClaim")) (include "llm-common.context.field" (dict "context" .context "field" "modelStorage.type"))) $s.existingClaim -}}
{{- else if eq $s.type "pvc" -}}
{{- printf "%s-models" (include "llm-common.names.fullname" (dict "context" .context)) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.storage.volume: the "models" volume list item, or nothing for type none.
Usage: {{- include "llm-common.storage.volume" (dict "context" .) | nindent 8 }}
*/}}
{{- define "llm-common.storage.volume" -}}
{{- $s := .context.Values.modelStorage -}}
{{- if eq $s.type "none" -}}
{{- else if or (eq $s.type "existingClaim") (eq $s.type "pvc") }}
- name: models
  persistentVolumeClaim:
    claimName: {{ include "llm-common.storage.claimName" (dict "context" .context) }}
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
    path: {{ required (printf "%s is required when %s is hostPath" (include "llm-common.context.field" (dict "context" .context "field" "modelStorage.hostPath.path")) (include "llm-common.context.field" (dict "context" .context "field" "modelStorage.type"))) ($s.hostPath | default dict).path }}
    type: {{ ($s.hostPath | default dict).type | default "Directory" }}
{{- else -}}
{{- fail (printf "%s: %q is not supported; allowed: none, existingClaim, pvc, emptyDir, hostPath" (include "llm-common.context.field" (dict "context" .context "field" "modelStorage.type")) (toString $s.type)) -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.storage.volumeMount: the "models" volumeMounts list item, or nothing.
Usage: {{- include "llm-common.storage.volumeMount" (dict "context" .) | nindent 12 }}
*/}}
{{- define "llm-common.storage.volumeMount" -}}
{{- $s := .context.Values.modelStorage -}}
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
{{- $tok := include "llm-common.storage.hfTokenRef" (dict "context" .context) | fromJson -}}
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
llm-common.storage.hfTokenRef: the Hugging Face token Secret as JSON {"name", "key"}: the chart's hfToken when it
names a Secret, else global.hfToken (name and key taken together, never mixed); {} when neither does.
Usage: {{- $tok := include "llm-common.storage.hfTokenRef" (dict "context" .) | fromJson -}}
*/}}
{{- define "llm-common.storage.hfTokenRef" -}}
{{- $local := .context.Values.hfToken | default dict -}}
{{- $global := ((.context.Values.global | default dict).hfToken) | default dict -}}
{{- if $local.secretName -}}
{{- toJson (dict "name" $local.secretName "key" ($local.secretKey | default "token")) -}}
{{- else if $global.secretName -}}
{{- toJson (dict "name" $global.secretName "key" ($global.secretKey | default "token")) -}}
{{- else -}}
{{- toJson dict -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.storage.pvc: the PersistentVolumeClaim object for modelStorage.type=pvc, or nothing.
The claim is kept on `helm uninstall` (helm.sh/resource-policy: keep): re-downloading 140 GB of weights is
the expensive mistake to avoid.
Usage: {{ include "llm-common.storage.pvc" (dict "context" .) }}
*/}}
{{- define "llm-common.storage.pvc" -}}
{{- $ctx := .context -}}
{{- $s := $ctx.Values.modelStorage -}}
{{- if eq $s.type "pvc" -}}
{{- $pvc := $s.pvc | default dict -}}
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  {{- include "llm-common.names.metadata" (dict "context" $ctx "component" "model-storage" "name" (include "llm-common.storage.claimName" (dict "context" .context))
        "annotations" (merge (dict "helm.sh/resource-policy" "keep") ($pvc.annotations | default dict))) | nindent 2 }}
spec:
  accessModes:
    {{- toYaml ($pvc.accessModes | default (list "ReadWriteOnce")) | nindent 4 }}
  {{- $class := $pvc.storageClass | default (($ctx.Values.global | default dict).storageClass) }}
  {{- if $class }}
  storageClassName: {{ ternary "" $class (eq $class "-") | quote }}
  {{- end }}
  resources:
    requests:
      storage: {{ required (printf "%s is required when %s is pvc (for example 200Gi)" (include "llm-common.context.field" (dict "context" $ctx "field" "modelStorage.pvc.size")) (include "llm-common.context.field" (dict "context" $ctx "field" "modelStorage.type"))) $pvc.size }}
{{- end -}}
{{- end -}}

{{/*
llm-common.storage.validate: a chart-created ReadWriteOnce (or ReadWriteOncePod) model volume is refused with more
than one pod: replicaCount above 1, or an autoscaler (autoscaling.enabled) whose maxReplicas is above 1. Pods on other
nodes would hang in ContainerCreating on Multi-Attach. The error names the access modes to change.
Usage: {{- include "llm-common.storage.validate" (dict "context" .) -}}
*/}}
{{- define "llm-common.storage.validate" -}}
{{- $ctx := .context -}}
{{- $v := $ctx.Values -}}
{{- $s := $v.modelStorage | default dict -}}
{{- if eq (toString $s.type) "pvc" -}}
{{- $modes := ($s.pvc | default dict).accessModes | default (list "ReadWriteOnce") -}}
{{- if not (or (has "ReadWriteMany" $modes) (has "ReadOnlyMany" $modes)) -}}
{{- $a := $v.autoscaling | default dict -}}
{{- $pods := ternary (int ($a.maxReplicas | default 1)) (int ($v.replicaCount | default 1)) (not (empty $a.enabled)) -}}
{{- if gt $pods 1 -}}
{{- fail (printf "%s: %s can be mounted by one node only, but %s is %d; pods on other nodes would hang on Multi-Attach. Use [ReadWriteMany] (a shared volume; see the model-cache chart), modelStorage.type emptyDir, or one replica" (include "llm-common.context.field" (dict "context" $ctx "field" "modelStorage.pvc.accessModes")) (toJson $modes) (include "llm-common.context.field" (dict "context" $ctx "field" (ternary "autoscaling.maxReplicas" "replicaCount" (not (empty $a.enabled))))) $pods) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
