{{/*
Model sources: where a model's weights come from, one shape in every engine chart (model.source in vllm, tgi and
ray-llm, inferenceServices[].source in kserve-llm; schemas/model-source.schema.yaml), resolved here once:

  hf://<org>/<repo>        the engine downloads it from the Hub into the model volume (HF_HOME); source.revision pins it
  s3://<bucket>/<prefix>   load prefetch: an init container (`aws s3 sync`) copies it into the model volume first;
                           load stream: vLLM streams the tensors from the store (Run:ai model streamer)
  gs://<bucket>/<prefix>   the same, through GCS's S3 interoperability API (HMAC keys, https://storage.googleapis.com)
  pvc://<claim>/<path>     the claim is mounted read-only at /model-source; the engine reads <path> there
  oci://<image>            the image is mounted read-only at /model-source (an image volume, Kubernetes 1.33+; KServe:
                           its modelcar); the weights are under /models in the image, as KServe's modelcars lay them out
  /an/absolute/path        read in place (a pre-filled model volume, a hostPath)

An empty source.uri keeps the chart's own model name (model.name, engine.modelId) and revision exactly as before: a
Hub id, or a path when it starts with "/". Credentials come only from Secrets: an s3:// or gs:// source names its
Secret (or says workloadIdentity) or is refused. With global.production a Hub model must be pinned to a commit.
*/}}

{{/*
llm-common.source.resolve: the model's source, resolved and checked, as JSON:
  scheme    hf, s3, gs, pvc, oci or local
  uri       the source as given (or the legacy name)
  model     what the engine loads: the Hub id (hf), the directory holding the weights (prefetch, pvc, oci, local), or
            the s3:// URL (stream)
  revision  hf: source.revision, else the legacy revision
  load      engine (the engine reads it itself), prefetch, stream or external
  bucket, prefix, endpoint, region, secret {name, idKey, keyKey} (s3, gs); claim, path (pvc); image (oci)
  offline   source.offline
  name      a name for it: the Hub id, else the last segment of its path (a default served name)
  fields    the value paths errors name: uri, revision
Parameters:
  context                  the component context
  source                   the source map (.Values.model.source, an InferenceService's source), may be empty
  field                    its value path, e.g. "model.source"
  name, nameField          the chart's own model name and its path (model.name, engine.modelId), used without a uri
  revision, revisionField  the chart's own revision and its path (model.revision, engine.revision)
  stream                   true where the engine can stream from the store (vLLM)
  external                 true where the platform fetches s3:// and gs:// itself (KServe's storage initializer):
                           load is then "external" and model the URI
Usage: {{- $src := include "llm-common.source.resolve" (dict "context" . "source" .Values.model.source "field" "model.source" "name" .Values.model.name "nameField" "model.name" "revision" .Values.model.revision "revisionField" "model.revision" "stream" true) | fromJson -}}
*/}}
{{- define "llm-common.source.resolve" -}}
{{- $ctx := .context -}}
{{- $s := .source | default dict -}}
{{- $f := dict -}}
{{- range list "uri" "revision" "load" "endpoint" "credentials.secretName" -}}
{{- $_ := set $f . (include "llm-common.context.field" (dict "context" $ctx "field" (printf "%s.%s" $.field .))) -}}
{{- end -}}
{{- $out := dict "offline" (default false $s.offline) "load" "engine" -}}
{{- if $s.uri -}}
{{- $_ := set $out "uri" $s.uri -}}
{{- $_ := set $out "revision" ($s.revision | default .revision | default "") -}}
{{- $_ := set $out "fields" (dict "uri" (get $f "uri") "revision" (ternary (get $f "revision") (include "llm-common.context.field" (dict "context" $ctx "field" (.revisionField | default "model.revision"))) (not (empty $s.revision)))) -}}
{{- else -}}
{{- $_ := set $out "uri" (toString .name) -}}
{{- $_ := set $out "revision" (.revision | default "") -}}
{{- $_ := set $out "fields" (dict "uri" (include "llm-common.context.field" (dict "context" $ctx "field" .nameField)) "revision" (include "llm-common.context.field" (dict "context" $ctx "field" (.revisionField | default "model.revision")))) -}}
{{- end -}}
{{- $uri := $out.uri -}}
{{- $scheme := "hf" -}}
{{- $rest := $uri -}}
{{- if hasPrefix "/" $uri -}}{{- $scheme = "local" -}}
{{- else if regexMatch "^[a-z0-9]+://" $uri -}}
{{- $scheme = regexFind "^[a-z0-9]+" $uri -}}
{{- $rest = regexReplaceAll "^[a-z0-9]+://" $uri "" -}}
{{- end -}}
{{- if not (has $scheme (list "hf" "s3" "gs" "pvc" "oci" "local")) -}}
{{- fail (printf "%s: %q: the scheme %s:// is not supported; use hf://, s3://, gs://, pvc://, oci:// or an absolute path" $out.fields.uri $uri $scheme) -}}
{{- end -}}
{{- $_ := set $out "scheme" $scheme -}}
{{- $load := $s.load | default "auto" -}}
{{- if and (ne $load "auto") (not (has $scheme (list "s3" "gs"))) -}}
{{- fail (printf "%s: %s applies to s3:// and gs:// sources only (this one is %s); remove it" (get $f "load") $load $uri) -}}
{{- end -}}
{{- if eq $scheme "hf" -}}
{{- $_ := set $out "model" $rest -}}
{{- if and (($ctx.Values.global | default dict).production) (not (regexMatch "^[0-9a-f]{40}$" (toString $out.revision))) -}}
{{- fail (printf "%s: global.production is set, so the Hub model %s must be pinned to a commit (40 hex characters, e.g. from `huggingface-cli repo info`), not %q" $out.fields.revision $rest (toString $out.revision)) -}}
{{- end -}}
{{- else if eq $scheme "local" -}}
{{- $_ := set $out "model" $uri -}}
{{- else if eq $scheme "pvc" -}}
{{- $parts := splitList "/" $rest -}}
{{- $_ := set $out "claim" (first $parts) -}}
{{- $_ := set $out "path" (join "/" (rest $parts)) -}}
{{- $_ := set $out "model" (trimSuffix "/" (printf "/model-source/%s" (join "/" (rest $parts)))) -}}
{{- else if eq $scheme "oci" -}}
{{- $_ := set $out "image" $rest -}}
{{- $_ := set $out "model" "/model-source/models" -}}
{{- else -}}
{{- /* s3, gs */ -}}
{{- $parts := splitList "/" $rest -}}
{{- $_ := set $out "bucket" (first $parts) -}}
{{- $_ := set $out "prefix" (trimSuffix "/" (join "/" (rest $parts))) -}}
{{- $_ := set $out "endpoint" ($s.endpoint | default (ternary "https://storage.googleapis.com" "" (eq $scheme "gs"))) -}}
{{- $_ := set $out "region" ($s.region | default "us-east-1") -}}
{{- $c := $s.credentials | default dict -}}
{{- if $c.secretName -}}
{{- $_ := set $out "secret" (dict "name" $c.secretName "idKey" ($c.accessKeyIdKey | default "AWS_ACCESS_KEY_ID") "keyKey" ($c.secretAccessKeyKey | default "AWS_SECRET_ACCESS_KEY")) -}}
{{- else if not $c.workloadIdentity -}}
{{- fail (printf "%s is required for %s: the Secret with the store's access keys (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; HMAC keys for gs://), never literal keys. With IRSA or GKE Workload Identity set %s.credentials.workloadIdentity: true instead" (get $f "credentials.secretName") $uri (include "llm-common.context.field" (dict "context" $ctx "field" $.field))) -}}
{{- end -}}
{{- if eq $load "stream" -}}
{{- if not .stream -}}
{{- fail (printf "%s: stream needs vLLM's Run:ai model streamer, which this engine does not have; use prefetch" (get $f "load")) -}}
{{- end -}}
{{- $_ := set $out "load" "stream" -}}
{{- $_ := set $out "model" (printf "s3://%s/%s" $out.bucket $out.prefix | trimSuffix "/") -}}
{{- else if .external -}}
{{- $_ := set $out "load" "external" -}}
{{- $_ := set $out "model" $uri -}}
{{- else -}}
{{- $_ := set $out "load" "prefetch" -}}
{{- $ms := $ctx.Values.modelStorage | default dict -}}
{{- if or (eq (toString $ms.type) "none") $ms.readOnly (empty $ms.type) -}}
{{- fail (printf "%s: prefetching %s needs a writable model volume; set modelStorage.type to emptyDir, pvc or existingClaim with modelStorage.readOnly: false (or load: stream)" (include "llm-common.context.field" (dict "context" $ctx "field" "modelStorage.type")) $uri) -}}
{{- end -}}
{{- $_ := set $out "model" (printf "%s/%s/%s/%s" (trimSuffix "/" $ms.mountPath) $scheme $out.bucket $out.prefix | trimSuffix "/") -}}
{{- end -}}
{{- end -}}
{{- $tail := ternary $out.image (trimSuffix "/" $out.model) (eq $scheme "oci") -}}
{{- $_ := set $out "name" (ternary $out.model (regexReplaceAll "[:@].*$" (base $tail) "") (eq $scheme "hf")) -}}
{{- toJson $out -}}
{{- end -}}

{{/*
llm-common.source.env: env list items the engine container needs for its source: the store's endpoint and keys when
it streams (the Run:ai streamer reads the AWS variables; path-style addressing for S3-compatible stores), and
HF_HUB_OFFLINE=1 (with HF_HUB_CACHE on a read-only shared cache) when the source is offline. Nothing otherwise.
Parameters: context, source (llm-common.source.resolve's result)
Usage: {{- include "llm-common.source.env" (dict "context" . "source" $src) | nindent 4 }}
*/}}
{{- define "llm-common.source.env" -}}
{{- $src := .source -}}
{{- if eq $src.load "stream" }}
{{- include "llm-common.source.storeEnv" (dict "context" .context "source" $src) }}
{{- end }}
{{- if $src.offline }}
- name: HF_HUB_OFFLINE
  value: "1"
{{- $ms := .context.Values.modelStorage | default dict }}
{{- if and $ms.readOnly $ms.hfHome (ne (toString $ms.type) "none") }}
- name: HF_HUB_CACHE
  value: {{ printf "%s/huggingface/hub" (trimSuffix "/" $ms.mountPath) | quote }}
{{- end }}
{{- end -}}
{{- end -}}

{{/*
llm-common.source.storeEnv: the S3 client's variables for an s3:// or gs:// source: keys from the source's Secret,
region, endpoint with path-style addressing, no instance metadata lookups, and checksums only where the API requires
them (S3-compatible stores reject the AWS SDKs' newer default checksums).
Parameters: context, source (llm-common.source.resolve's result)
Usage: {{- include "llm-common.source.storeEnv" (dict "context" . "source" $src) | nindent 4 }}
*/}}
{{- define "llm-common.source.storeEnv" -}}
{{- $src := .source -}}
{{- with $src.secret }}
{{- include "llm-common.env.secretRef" (dict "context" $.context "name" "AWS_ACCESS_KEY_ID" "secret" .name "key" .idKey) | nindent 0 }}
{{- include "llm-common.env.secretRef" (dict "context" $.context "name" "AWS_SECRET_ACCESS_KEY" "secret" .name "key" .keyKey) | nindent 0 }}
{{- end }}
- name: AWS_REGION
  value: {{ $src.region | quote }}
{{- with $src.endpoint }}
- name: AWS_ENDPOINT_URL
  value: {{ . | quote }}
- name: RUNAI_STREAMER_S3_USE_VIRTUAL_ADDRESSING
  value: "0"
- name: AWS_REQUEST_CHECKSUM_CALCULATION
  value: when_required
- name: AWS_RESPONSE_CHECKSUM_VALIDATION
  value: when_required
{{- end }}
{{- if $src.secret }}
- name: AWS_EC2_METADATA_DISABLED
  value: "true"
{{- end }}
{{- end -}}

{{/*
llm-common.source.args: the engine flags a source adds, as [flag, value, kind, field] rows for llm-common.args.flags:
--load-format runai_streamer when it streams (vLLM only). An empty list otherwise.
Parameters: context, source
Usage: {{- $flags = concat $flags (include "llm-common.source.args" (dict "context" . "source" $src) | fromJsonArray) -}}
*/}}
{{- define "llm-common.source.args" -}}
{{- $rows := list -}}
{{- if eq .source.load "stream" -}}
{{- $rows = append $rows (list "load-format" "runai_streamer" "str" (printf "%s (load: stream)" .source.fields.uri)) -}}
{{- end -}}
{{- toJson $rows -}}
{{- end -}}

{{/*
llm-common.source.initContainers: the init container that prefetches an s3:// or gs:// source into the model volume
(`aws s3 sync`: only what is missing or changed is copied, so a filled volume is checked, not downloaded again), as
YAML list items; nothing for other sources.
Parameters: context, source
Usage: {{- with include "llm-common.source.initContainers" (dict "context" . "source" $src) }}initContainers: {{- . | nindent 2 }}{{ end }}
*/}}
{{- define "llm-common.source.initContainers" -}}
{{- $src := .source -}}
{{- $ctx := .context -}}
{{- if eq $src.load "prefetch" -}}
{{- $fetcher := ((($ctx.Values.model | default dict).source | default dict).fetcher | default dict) -}}
{{- $image := mergeOverwrite (dict "registry" "docker.io" "repository" "amazon/aws-cli" "tag" "2.27.9" "digest" "" "pullPolicy" "IfNotPresent") ($fetcher.image | default dict) }}
- name: fetch-model
  image: {{ include "llm-common.images.image" (dict "context" $ctx "image" $image "field" "model.source.fetcher.image") | quote }}
  imagePullPolicy: {{ $image.pullPolicy }}
  command:
    - aws
    - s3
    - sync
    - {{ printf "s3://%s/%s" $src.bucket $src.prefix | trimSuffix "/" | quote }}
    - {{ $src.model | quote }}
    - --no-progress
    - --only-show-errors
    {{- with $src.endpoint }}
    - --endpoint-url
    - {{ . | quote }}
    {{- end }}
  env:
    - name: HOME
      value: /tmp
    {{- include "llm-common.source.storeEnv" (dict "context" $ctx "source" $src) | nindent 4 }}
  resources:
    {{- toYaml ($fetcher.resources | default (dict "requests" (dict "cpu" "1" "memory" "1Gi") "limits" (dict "memory" "2Gi"))) | nindent 4 }}
  {{- include "llm-common.workload.containerSecurityContext" (dict "context" $ctx) | nindent 2 }}
  {{- include "llm-common.workload.volumeList" (dict "context" $ctx "key" "volumeMounts" "items" (list "models")) | nindent 2 }}
{{- end -}}
{{- end -}}

{{/*
llm-common.source.volumes: JSON list of the pod volumes a source adds (for llm-common.workload.volumeList): the
claim of a pvc:// source, read-only, or the image of an oci:// source as an image volume (Kubernetes 1.33+, refused
on older clusters naming the value). Empty otherwise.
Parameters: context, source
Usage: {{- $volumes := concat $volumes (include "llm-common.source.volumes" (dict "context" . "source" $src) | fromJsonArray) -}}
*/}}
{{- define "llm-common.source.volumes" -}}
{{- $src := .source -}}
{{- if eq $src.scheme "pvc" -}}
{{- toJson (list (dict "name" "model-source" "persistentVolumeClaim" (dict "claimName" $src.claim "readOnly" true))) -}}
{{- else if eq $src.scheme "oci" -}}
{{- if not (semverCompare ">=1.33-0" .context.Capabilities.KubeVersion.Version) -}}
{{- fail (printf "%s: an oci:// source is mounted as an image volume, which needs Kubernetes 1.33 or later (this is %s); use a pvc:// or s3:// source, or kserve-llm, whose modelcar serves oci:// on older clusters" $src.fields.uri .context.Capabilities.KubeVersion.Version) -}}
{{- end -}}
{{- toJson (list (dict "name" "model-source" "image" (dict "reference" $src.image "pullPolicy" "IfNotPresent"))) -}}
{{- else -}}
{{- toJson list -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.source.volumeMounts: JSON list of the engine container's mounts for llm-common.source.volumes (read-only at
/model-source). Empty otherwise.
Parameters: context, source
Usage: {{- $mounts := concat $mounts (include "llm-common.source.volumeMounts" (dict "context" . "source" $src) | fromJsonArray) -}}
*/}}
{{- define "llm-common.source.volumeMounts" -}}
{{- if has .source.scheme (list "pvc" "oci") -}}
{{- toJson (list (dict "name" "model-source" "mountPath" "/model-source" "readOnly" true)) -}}
{{- else -}}
{{- toJson list -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.source.storageUri: the source as a KServe storageUri (KServe's storage initializer or modelcar fetches it):
hf://<repo>[:<revision>], s3://, gs://, pvc://<claim>/<path>, oci://. A local path and streaming have no KServe form
and are refused naming the value.
Parameters: context, source
Usage: storageUri: {{ include "llm-common.source.storageUri" (dict "context" $ctx "source" $src) }}
*/}}
{{- define "llm-common.source.storageUri" -}}
{{- $src := .source -}}
{{- if eq $src.scheme "local" -}}
{{- fail (printf "%s: KServe fetches the model itself and has no local path source; use hf://, s3://, gs://, pvc:// or oci://" $src.fields.uri) -}}
{{- else if eq $src.load "stream" -}}
{{- fail (printf "%s: KServe's storage initializer prefetches; stream is not available here" $src.fields.uri) -}}
{{- else if eq $src.scheme "hf" -}}
{{- printf "hf://%s" $src.model -}}{{- with $src.revision -}}:{{ . }}{{- end -}}
{{- else -}}
{{- $src.uri -}}
{{- end -}}
{{- end -}}
