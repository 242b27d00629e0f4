{{/*
model-cache chart helpers: the cache's source (llm-common.source.resolve, the model.source shape of the engine
charts), its rules, and the Job's fill script.
*/}}

{{/*
model-cache.source: the source as JSON (llm-common.source.resolve): s3:// and gs:// are prefetched into the volume by
the shared init container (llm-common.source.initContainers), hf:// is downloaded by the fill container.
Usage: {{- $src := include "model-cache.source" . | fromJson -}}
*/}}
{{- define "model-cache.source" -}}
{{- include "llm-common.source.resolve" (dict "context" . "source" .Values.model.source "field" "model.source" "name" "" "nameField" "model.source.uri"
      "revisionField" "model.source.revision" "stream" false) -}}
{{- end -}}

{{/*
model-cache.jobContext: fills .out with the Job's component context: the chart's values on a CPU pod (no GPU request,
toleration or node selection).
Usage: {{- $ctx := dict -}}{{- include "model-cache.jobContext" (dict "context" . "out" $ctx) -}}
*/}}
{{- define "model-cache.jobContext" -}}
{{- include "llm-common.context.component" (dict "context" .context "values" (dict "accelerator" (dict "type" "cpu"))
      "shared" (keys .context.Values) "out" .out) -}}
{{- end -}}

{{/*
model-cache.dir: the model's directory on the volume, where engines find it: the Hub cache snapshot
(<mountPath>/huggingface/hub/models--<org>--<repo>/snapshots/<revision>, read with HF_HUB_OFFLINE) or the prefetched
copy (<mountPath>/<scheme>/<bucket>/<prefix>).
Usage: {{ include "model-cache.dir" . }}
*/}}
{{- define "model-cache.dir" -}}
{{- $src := include "model-cache.source" . | fromJson -}}
{{- if eq $src.scheme "hf" -}}
{{- printf "%s/huggingface/hub/models--%s/snapshots/%s" (trimSuffix "/" .Values.modelStorage.mountPath) ($src.model | replace "/" "--") $src.revision -}}
{{- else -}}
{{- $src.model -}}
{{- end -}}
{{- end -}}

{{/*
model-cache.key: 8 hex characters naming what the cache holds (source, revision, checksums): the Job's name suffix,
so a changed source runs a new Job (a Job's pod template cannot be changed in place).
Usage: {{ include "model-cache.key" . }}
*/}}
{{- define "model-cache.key" -}}
{{- list .Values.model.source.uri .Values.model.source.revision .Values.model.checksums | toJson | sha256sum | trunc 8 -}}
{{- end -}}

{{/*
model-cache.validate: what makes a cache pinned, verified and shareable; each failure names the value to change.
  - a source: hf:// (pinned to a 40-hex commit), s3:// or gs:// (with model.checksums: a store has no revision);
  - a volume the chart creates ReadWriteMany (engines on many nodes mount it), or an existing claim; never read-only.
Usage: {{- include "model-cache.validate" . -}}
*/}}
{{- define "model-cache.validate" -}}
{{- $v := .Values -}}
{{- if not $v.model.source.uri -}}
{{- fail "model.source.uri is required: the model the cache holds (hf://<org>/<repo>, s3://<bucket>/<prefix> or gs://<bucket>/<prefix>)" -}}
{{- end -}}
{{- $src := include "model-cache.source" . | fromJson -}}
{{- if not (has $src.scheme (list "hf" "s3" "gs")) -}}
{{- fail (printf "model.source.uri: %s is already on a volume; the cache fills from hf://, s3:// or gs://" $src.uri) -}}
{{- end -}}
{{- if and (eq $src.scheme "hf") (not (regexMatch "^[0-9a-f]{40}$" (toString $src.revision))) -}}
{{- fail (printf "model.source.revision: a cache is pinned: set the commit (40 hex characters) of %s to fill it with, not %q" $src.model (toString $src.revision)) -}}
{{- end -}}
{{- if and (has $src.scheme (list "s3" "gs")) (empty $v.model.checksums) -}}
{{- fail (printf "model.checksums: %s has no revision to pin; list the sha256 of its files (config.json, *.safetensors, ...) so the fill is verified" $src.uri) -}}
{{- end -}}
{{- $s := $v.modelStorage -}}
{{- if not (has $s.type (list "pvc" "existingClaim")) -}}
{{- fail (printf "modelStorage.type: %s; the cache is a PersistentVolumeClaim: pvc (the chart creates it) or existingClaim" $s.type) -}}
{{- end -}}
{{- if $s.readOnly -}}
{{- fail "modelStorage.readOnly: the Job writes the cache; engines mount it read-only, not the Job" -}}
{{- end -}}
{{- if and (eq $s.type "pvc") (not (has "ReadWriteMany" ($s.pvc.accessModes | default list))) -}}
{{- fail (printf "modelStorage.pvc.accessModes: %s; a shared cache is mounted by engines on many nodes: use [ReadWriteMany]" (toJson $s.pvc.accessModes)) -}}
{{- end -}}
{{- end -}}

{{/*
model-cache.script: the fill container's shell script: download the pinned Hub revision (hf://; s3:// and gs:// were
copied by the init container), check every listed sha256, then write a marker naming what the cache holds.
Usage: args: [{{ include "model-cache.script" . | quote }}]
*/}}
{{- define "model-cache.script" -}}
{{- $src := include "model-cache.source" . | fromJson -}}
{{- $mount := trimSuffix "/" .Values.modelStorage.mountPath -}}
set -eu
{{- if eq $src.scheme "hf" }}
hf download {{ $src.model | quote }} --revision {{ $src.revision | quote }} --cache-dir {{ printf "%s/huggingface/hub" $mount | quote }}
{{- end }}
cd {{ include "model-cache.dir" . | quote }}
{{- if .Values.model.checksums }}
sha256sum -c /checksums/SHA256SUMS
{{- end }}
mkdir -p {{ printf "%s/.llm-charts" $mount | quote }}
echo {{ printf "%s %s" $src.uri ($src.revision | default "") | quote }} > {{ printf "%s/.llm-charts/%s.complete" $mount (include "model-cache.key" .) | quote }}
echo "model cache filled: $(pwd)"
{{- end -}}
