{{/*
Images.
*/}}

{{/*
llm-common.images.image: "<registry>/<repository>:<tag>[@<digest>]".
The registry is global.imageRegistry when set (air-gapped mirrors), else image.registry; the tag defaults to
the chart's appVersion, which is the engine version whose flags the chart renders and was tested against.
Parameters:
  context  the component context
  image    {registry, repository, tag, digest}
  field    optional: the image's value path, for errors (default "image"; e.g. "proxy.image" in the gateway's context)
Usage: {{ include "llm-common.images.image" (dict "context" . "image" .Values.image) }}
*/}}
{{- define "llm-common.images.image" -}}
{{- $img := .image -}}
{{- $global := .context.Values.global | default dict -}}
{{- $registry := $global.imageRegistry | default $img.registry -}}
{{- if not $img.repository -}}
{{- fail (printf "%s.repository is required (for example vllm/vllm-openai)" (include "llm-common.context.field" (dict "context" .context "field" (.field | default "image")))) -}}
{{- end -}}
{{- $first := regexFind "^[^/]+" (toString $img.repository) -}}
{{- if and $registry (contains "/" (toString $img.repository)) (or (contains "." $first) (contains ":" $first) (eq $first "localhost")) -}}
{{- fail (printf "%s: %q starts with a registry host (%s) while the registry is %s, which makes %s/%s: put the host in %s only" (include "llm-common.context.field" (dict "context" .context "field" (printf "%s.repository" (.field | default "image")))) $img.repository $first $registry $registry $img.repository (ternary "global.imageRegistry" (include "llm-common.context.field" (dict "context" .context "field" (printf "%s.registry" (.field | default "image")))) (not (empty $global.imageRegistry)))) -}}
{{- end -}}
{{- $ref := $img.repository -}}
{{- if $registry -}}{{- $ref = printf "%s/%s" $registry $img.repository -}}{{- end -}}
{{- $tag := $img.tag | default .context.Chart.AppVersion | toString -}}
{{- if $img.digest -}}
{{- printf "%s:%s@%s" $ref $tag $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $ref $tag -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.images.pullSecrets: the pod's imagePullSecrets, from global.imagePullSecrets and .Values.imagePullSecrets
(both lists of names). Renders an "imagePullSecrets:" key, or nothing when there are none.
Usage: {{- include "llm-common.images.pullSecrets" (dict "context" .) | nindent 6 }}
*/}}
{{- define "llm-common.images.pullSecrets" -}}
{{- $v := .context.Values -}}
{{- $names := list -}}
{{- range (concat (($v.global | default dict).imagePullSecrets | default list) ($v.imagePullSecrets | default list)) -}}
{{- if kindIs "map" . -}}{{- $names = append $names .name -}}{{- else -}}{{- $names = append $names . -}}{{- end -}}
{{- end -}}
{{- if $names }}
imagePullSecrets:
{{- range ($names | uniq) }}
  - name: {{ . | quote }}
{{- end }}
{{- end -}}
{{- end -}}
