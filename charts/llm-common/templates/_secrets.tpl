{{/*
Literal secrets: refused wherever a value becomes a flag, an env var or engine config. A literal lands in the
release's stored values (`helm get values`), in the rendered object and in every `kubectl get -o yaml`; a Secret
reference does not. Two tests: a name that says it holds a secret (a flag such as --hf-token, a key such as
api_key), and a value in a well-known token format (Hugging Face hf_..., OpenAI sk-..., GitHub, AWS access key ids,
Slack, PEM private keys) whatever its name.
*/}}

{{/*
llm-common.secrets.nameIsSecret: "true" when a flag or config key names a secret: its last word (words split at "-",
"_" and ".") is token, secret, password, passwd or credential(s), or it ends in api-key, access-key, secret-key,
private-key or auth-token. The last word, not a substring: --max-tokens, --tokenizer and
--long-prefill-token-threshold are not secrets.
Parameters: context, name
Usage: {{- if include "llm-common.secrets.nameIsSecret" (dict "context" . "name" "--hf-token") -}}...{{- end -}}
*/}}
{{- define "llm-common.secrets.nameIsSecret" -}}
{{- $n := lower (trimPrefix "-" (trimPrefix "-" (toString .name))) -}}
{{- if regexMatch "(^|[-_.])(token|secret|password|passwd|credentials?|api[-_]?key|access[-_]?key|secret[-_]?key|private[-_]?key|auth[-_]?token)$" $n -}}true{{- end -}}
{{- end -}}

{{/*
llm-common.secrets.tokenKind: the kind of well-known token a string holds ("" when none).
Parameters: context, value
Usage: {{- $kind := include "llm-common.secrets.tokenKind" (dict "context" . "value" $v) -}}
*/}}
{{- define "llm-common.secrets.tokenKind" -}}
{{- $v := toString .value -}}
{{- $kinds := list
  (list "(^|[^A-Za-z0-9])hf_[A-Za-z0-9]{30,}" "a Hugging Face token")
  (list "(^|[^A-Za-z0-9])sk-[A-Za-z0-9_-]{20,}" "an OpenAI-style API key")
  (list "(^|[^A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{36,}" "a GitHub token")
  (list "(^|[^A-Za-z0-9])(AKIA|ASIA)[0-9A-Z]{16}([^0-9A-Z]|$)" "an AWS access key id")
  (list "(^|[^A-Za-z0-9])xox[abprs]-[A-Za-z0-9-]{10,}" "a Slack token")
  (list "-----BEGIN [A-Z ]*PRIVATE KEY-----" "a private key")
-}}
{{- range $kinds -}}
{{- if regexMatch (index . 0) $v -}}{{- index . 1 -}}{{- break -}}{{- end -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.secrets.refuse: fails when one named value is a literal secret: its name names a secret
(llm-common.secrets.nameIsSecret) and it holds something other than a boolean (a switch such as
--allow-credentials holds no secret), or its value is a well-known token
(llm-common.secrets.tokenKind).
Parameters:
  context  the component context
  at       the value's path as the user wrote it, e.g. "extraArgs[2]" (already prefixed)
  name     the flag or key
  value    the literal
  wayOut   optional: how to pass it instead (default: from a Secret, through extraEnv's valueFrom.secretKeyRef)
Usage: {{- include "llm-common.secrets.refuse" (dict "context" . "at" "engine.extraKwargs.hf_token" "name" "hf_token" "value" $v) -}}
*/}}
{{- define "llm-common.secrets.refuse" -}}
{{- $way := .wayOut | default (printf "put it in a Secret and read it through %s (valueFrom.secretKeyRef)" (include "llm-common.context.field" (dict "context" .context "field" "extraEnv"))) -}}
{{- $v := toString .value -}}
{{- $kind := include "llm-common.secrets.tokenKind" (dict "context" .context "value" $v) -}}
{{- if $kind -}}
{{- fail (printf "%s: holds %s as a literal, which lands in the release's stored values and the rendered objects; %s" .at $kind $way) -}}
{{- end -}}
{{- if and (not (kindIs "invalid" .value)) (not (kindIs "bool" .value)) (ne $v "") (include "llm-common.secrets.nameIsSecret" (dict "context" .context "name" .name)) -}}
{{- fail (printf "%s: %s takes a secret, and a literal here lands in the release's stored values and the rendered objects; %s" .at .name $way) -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.secrets.refuseInMap: llm-common.secrets.refuse on every scalar of a map of config passed through as
given (engine_kwargs, a Ray runtime_env with its env_vars, ...), at any depth; a list's scalars are judged by value.
In env_vars, a name is judged as env var names are (llm-common.env.extraEnv: TOKEN, SECRET, PASSW, API_KEY,
ACCESS_KEY, CREDENTIAL, PRIVATE_KEY anywhere in it).
Parameters: context, field (the map's value path, e.g. "llm.runtimeEnv"; named with the context's prefix), given (the
map), wayOut (optional, as for llm-common.secrets.refuse)
Usage: {{- include "llm-common.secrets.refuseInMap" (dict "context" . "field" "llm.runtimeEnv" "given" .Values.llm.runtimeEnv) -}}
*/}}
{{- define "llm-common.secrets.refuseInMap" -}}
{{- $at := .at -}}
{{- if not $at -}}{{- $at = include "llm-common.context.field" (dict "context" .context "field" .field) -}}{{- end -}}
{{- range $k, $v := (.given | default dict) -}}
{{- $path := printf "%s.%s" $at $k -}}
{{- if kindIs "map" $v -}}
{{- include "llm-common.secrets.refuseInMap" (dict "context" $.context "at" $path "given" $v "wayOut" $.wayOut "envVars" (eq $k "env_vars")) -}}
{{- else if kindIs "slice" $v -}}
{{- range $i, $item := $v -}}
{{- if kindIs "map" $item -}}
{{- include "llm-common.secrets.refuseInMap" (dict "context" $.context "at" (printf "%s[%d]" $path $i) "given" $item "wayOut" $.wayOut) -}}
{{- else -}}
{{- include "llm-common.secrets.refuse" (dict "context" $.context "at" (printf "%s[%d]" $path $i) "name" "" "value" $item "wayOut" $.wayOut) -}}
{{- end -}}
{{- end -}}
{{- else if and $.envVars (regexMatch "(?i)(TOKEN|SECRET|PASSW|API_?KEY|ACCESS_KEY|CREDENTIAL|PRIVATE_KEY)" $k) (ne (toString $v) "") -}}
{{- fail (printf "%s: %s is a secret-like variable with a literal value, which lands in the release's stored values and the rendered objects; %s" $path $k ($.wayOut | default "set it on the pods from a Secret instead (extraEnv with valueFrom.secretKeyRef)")) -}}
{{- else -}}
{{- include "llm-common.secrets.refuse" (dict "context" $.context "at" $path "name" $k "value" $v "wayOut" $.wayOut) -}}
{{- end -}}
{{- end -}}
{{- end -}}
