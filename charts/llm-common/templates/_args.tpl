{{/*
Engine arguments from structured values, and the rule that an escape hatch (extraArgs, a map of extra settings) may
not set what the chart renders itself.
*/}}

{{/*
llm-common.args.flags: YAML list items "--flag=value" for every flag whose value is set (null and "" skip it).
Each entry of "flags" is a list: [flag, value, kind, field], kind one of
  int    --flag=<integer>           (values arrive as float64; printed without exponent)
  str    --flag=<value>             (strings)
  float  --flag=<number>            (e.g. 0.9; a number, not a string, where the table feeds a map: engine_kwargs)
  json   --flag=<compact JSON>      (objects, e.g. --speculative-config)
  list   --flag <item> <item> ...    (argparse nargs="+": the flag, then each item; an empty list skips it)
  bool   --flag / --no-flag         (argparse BooleanOptionalAction; "negatable": false renders only --flag)
  flag   --flag when true, nothing when false (switches that should only ever be turned on explicitly)
Every item is JSON-quoted, which is valid YAML and keeps JSON values intact.
Parameters: context, flags (the table), negatable (render --no-flag for a false bool)
Usage: {{- include "llm-common.args.flags" (dict "context" . "flags" $flags "negatable" true) | nindent 12 }}
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
llm-common.args.extra: .Values.extraArgs as YAML list items, after refusing any flag the chart already renders from a
structured value (llm-common.args.refuseOwned: two copies of a flag are at best confusing, argparse keeps the last).
"flags" is the table given to llm-common.args.flags (--flag and --no-flag of each row are owned; its 4th element names
the value to set instead).
Usage: {{- include "llm-common.args.extra" (dict "context" . "flags" $flags) | nindent 12 }}
*/}}
{{- define "llm-common.args.extra" -}}
{{- $owned := dict -}}
{{- range .flags -}}
{{- $_ := set $owned (printf "--%s" (index . 0)) (index . 3) -}}
{{- $_ := set $owned (printf "--no-%s" (index . 0)) (index . 3) -}}
{{- end -}}
{{- $extra := .context.Values.extraArgs | default list -}}
{{- include "llm-common.args.refuseOwned" (dict "context" .context "field" "extraArgs" "given" $extra "owned" $owned) -}}
{{- range $extra }}
- {{ toString . | toJson }}
{{- end -}}
{{- end -}}

{{/*
llm-common.args.refuseOwned: fails when an escape hatch (extra flags, or a map of extra settings passed through as
given) sets what the chart renders itself, naming the value to set instead. Two sources for one setting are at best
confusing: argparse keeps the last flag, a merged map silently drops one of them.
Parameters:
  context  the component context
  field    the escape hatch's value path, e.g. "extraArgs", "engine.extraKwargs", "rayStartParams" (named with the
           context's prefix in errors)
  given    its value: a list of flags ("--flag=value": the flag is the part before "=") or a map (its keys)
  owned    a dict: each flag or key the chart owns -> the value that renders it (the error says to set that value),
           or a reason in parentheses, e.g. "(chart: loopback only)" when the chart sets it itself
Usage: {{- include "llm-common.args.refuseOwned" (dict "context" . "field" "engine.extraKwargs" "given" .Values.engine.extraKwargs "owned" $owned) -}}
*/}}
{{- define "llm-common.args.refuseOwned" -}}
{{- $field := include "llm-common.context.field" (dict "context" .context "field" .field) -}}
{{- $found := dict -}}
{{- if kindIs "slice" .given -}}
{{- range $i, $a := .given -}}
{{- $flag := regexReplaceAll "=.*$" (toString $a) "" -}}
{{- if and (not $found.at) (hasKey $.owned $flag) -}}{{- $_ := set $found "at" (printf "%s[%d]" $field $i) -}}{{- $_ := set $found "key" $flag -}}{{- end -}}
{{- end -}}
{{- else -}}
{{- range $k, $_ := (.given | default dict) -}}
{{- if and (not $found.at) (hasKey $.owned $k) -}}{{- $_ := set $found "at" (printf "%s.%s" $field $k) -}}{{- $_ := set $found "key" $k -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- with $found.at -}}
{{- $source := get $.owned $found.key -}}
{{- if hasPrefix "(" $source -}}
{{- fail (printf "%s: %s is not accepted here %s; remove it" . $found.key $source) -}}
{{- else -}}
{{- fail (printf "%s: %s is rendered by the chart from %s; set that value instead" . $found.key $source) -}}
{{- end -}}
{{- end -}}
{{- end -}}
