{{/*
Engine command-line flags from structured values.
*/}}

{{/*
llm-common.args.flags: YAML list items "--flag=value" for every flag whose value is set (null and "" skip it).
Each entry of "flags" is a list: [flag, value, kind, field], kind one of
  int    --flag=<integer>           (values arrive as float64; printed without exponent)
  str    --flag=<value>             (strings and floats such as 0.9)
  json   --flag=<compact JSON>      (objects, e.g. --speculative-config)
  list   --flag <item> <item> ...    (argparse nargs="+": the flag, then each item; an empty list skips it)
  bool   --flag / --no-flag         (argparse BooleanOptionalAction; "negatable": false renders only --flag)
  flag   --flag when true, nothing when false (switches that should only ever be turned on explicitly)
Every item is JSON-quoted, which is valid YAML and keeps JSON values intact.
Usage: {{- include "llm-common.args.flags" (dict "flags" $flags "negatable" true) | nindent 12 }}
*/}}
{{- define "llm-common.args.flags" -}}
{{- $negatable := .negatable -}}
{{- range .flags -}}
{{- $flag := index . 0 -}}
{{- $v := index . 1 -}}
{{- $kind := index . 2 -}}
{{- if or (kindIs "invalid" $v) (and (kindIs "string" $v) (eq $v "")) -}}
{{- else if eq $kind "bool" -}}
{{- if $v }}
- {{ printf "--%s" $flag | toJson }}
{{- else if $negatable }}
- {{ printf "--no-%s" $flag | toJson }}
{{- end -}}
{{- else if eq $kind "flag" -}}
{{- if $v }}
- {{ printf "--%s" $flag | toJson }}
{{- end -}}
{{- else if eq $kind "list" -}}
{{- if $v }}
- {{ printf "--%s" $flag | toJson }}
{{- range $v }}
- {{ toString . | toJson }}
{{- end }}
{{- end -}}
{{- else if eq $kind "int" }}
- {{ printf "--%s=%d" $flag (int64 $v) | toJson }}
{{- else if eq $kind "json" -}}
{{- if $v }}
- {{ printf "--%s=%s" $flag (toJson $v) | toJson }}
{{- end -}}
{{- else }}
- {{ printf "--%s=%s" $flag (toString $v) | toJson }}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.args.extra: .Values.extraArgs as YAML list items, after refusing any flag the chart already renders
from a structured value (two copies of a flag are at best confusing: argparse keeps the last one).
"flags" is the same list given to llm-common.args.flags; its 4th element names the value to set instead.
Optional "field" names the list in error messages (default "extraArgs"), e.g. "inferenceServices[0].extraArgs".
*/}}
{{- define "llm-common.args.extra" -}}
{{- $field := .field -}}
{{- $owned := dict -}}
{{- range .flags -}}
{{- $_ := set $owned (printf "--%s" (index . 0)) (index . 3) -}}
{{- $_ := set $owned (printf "--no-%s" (index . 0)) (index . 3) -}}
{{- end -}}
{{- range $i, $a := (.extraArgs | default list) -}}
{{- $flag := regexReplaceAll "=.*$" (toString $a) "" -}}
{{- if hasKey $owned $flag -}}
{{- fail (printf "%s[%d]: %s is rendered from %s; set that value instead of passing the flag" ($field | default "extraArgs") $i $flag (get $owned $flag)) -}}
{{- end }}
- {{ toString $a | toJson }}
{{- end -}}
{{- end -}}
