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
structured value, a flag and its value in one item, and literal secrets (llm-common.args.refuseOwned, which reads
each flag as the engine's parser does: llm-common.flags.read).
"flags" is the table given to llm-common.args.flags (--flag and --no-flag of each row are owned; its 4th element names
the value to set instead).
Parameters: context, flags, parser (optional: "vllm" or "router", whose option table resolves aliases and prefixes)
Usage: {{- include "llm-common.args.extra" (dict "context" . "flags" $flags "parser" "vllm") | nindent 12 }}
*/}}
{{- define "llm-common.args.extra" -}}
{{- $owned := dict -}}
{{- range .flags -}}
{{- $_ := set $owned (printf "--%s" (index . 0)) (index . 3) -}}
{{- $_ := set $owned (printf "--no-%s" (index . 0)) (index . 3) -}}
{{- end -}}
{{- $extra := .context.Values.extraArgs | default list -}}
{{- include "llm-common.args.refuseOwned" (dict "context" .context "field" "extraArgs" "given" $extra "owned" $owned "parser" (.parser | default "")) -}}
{{- range $extra }}
- {{ toString . | toJson }}
{{- end -}}
{{- end -}}

{{/*
llm-common.args.refuseOwned: the guard of every escape hatch (extra flags, or a map of extra settings passed through
as given). It fails when the escape hatch sets what the chart renders itself, naming the value to set instead (two
sources for one setting are at best confusing: argparse keeps the last flag, a merged map silently drops one of
them); when a list item holds a flag and its value together ("--tensor-parallel-size 2": argparse reads it as one
positional word); and when it holds a literal secret (llm-common.secrets.refuse, llm-common.secrets.refuseInMap).
A list's flags are read as the engine's parser reads them (llm-common.flags.read: short aliases, vLLM's underscore
spellings and dotted keys, unambiguous prefixes); a map's keys match with "-" and "_" alike.
Parameters:
  context  the component context
  field    the escape hatch's value path, e.g. "extraArgs", "engine.extraKwargs", "rayStartParams" (named with the
           context's prefix in errors)
  given    its value: a list of flags ("--flag=value": the flag is the part before "=") or a map (its keys)
  owned    a dict: each flag or key the chart owns -> the value that renders it (the error says to set that value),
           or a reason in parentheses, e.g. "(chart: loopback only)" when the chart sets it itself
  parser   optional, for a list: "vllm" or "router" (llm-common.flags.table); "" reads flags as written
Usage: {{- include "llm-common.args.refuseOwned" (dict "context" . "field" "engine.extraKwargs" "given" .Values.engine.extraKwargs "owned" $owned) -}}
*/}}
{{- define "llm-common.args.refuseOwned" -}}
{{- $field := include "llm-common.context.field" (dict "context" .context "field" .field) -}}
{{- $found := dict -}}
{{- if kindIs "slice" .given -}}
{{- $table := include "llm-common.flags.table" (dict "context" .context "parser" .parser) | fromJson -}}
{{- $owned := dict -}}
{{- range $k, $source := .owned -}}
{{- $r := include "llm-common.flags.read" (dict "context" $.context "arg" $k "parser" $.parser "table" $table "exact" true) | fromJson -}}
{{- $_ := set $owned (ternary $r.flag $k (ne $r.flag "")) $source -}}
{{- end -}}
{{- $reads := list -}}
{{- range $i, $a := .given -}}
{{- $at := printf "%s[%d]" $field $i -}}
{{- $r := include "llm-common.flags.read" (dict "context" $.context "arg" $a "parser" $.parser "table" $table) | fromJson -}}
{{- $reads = append $reads $r -}}
{{- if and (not $found.at) $r.flag (hasKey $owned $r.flag) -}}
{{- $_ := set $found "at" $at -}}{{- $_ := set $found "key" $r.flag -}}
{{- $_ := set $found "written" (ternary "" (printf " (the engine reads %s as %s)" $r.written $r.flag) (eq $r.written $r.flag)) -}}
{{- end -}}
{{- end -}}
{{- with $found.at -}}
{{- $source := get $owned $found.key -}}
{{- if hasPrefix "(" $source -}}
{{- fail (printf "%s: %s%s is not accepted here %s; remove it" . $found.key $found.written $source) -}}
{{- else -}}
{{- fail (printf "%s: %s%s is rendered by the chart from %s; set that value instead" . $found.key $found.written $source) -}}
{{- end -}}
{{- end -}}
{{- range $i, $a := .given -}}
{{- $at := printf "%s[%d]" $field $i -}}
{{- $r := index $reads $i -}}
{{- if $r.flag -}}
{{- /* The flag's value: in the item, or the next item when that is not a flag itself. */ -}}
{{- $value := $r.value -}}
{{- $valueAt := $at -}}
{{- if and (eq $value "") (lt (add1 $i) (len $reads)) (not (index $reads (add1 $i)).flag) -}}
{{- $value = toString (index $.given (add1 $i)) -}}
{{- $valueAt = printf "%s[%d]" $field (add1 $i) -}}
{{- end -}}
{{- include "llm-common.secrets.refuse" (dict "context" $.context "at" $valueAt "name" $r.flag "value" $value "wayOut" $.wayOut) -}}
{{- else -}}
{{- include "llm-common.secrets.refuse" (dict "context" $.context "at" $at "name" "" "value" $a "wayOut" $.wayOut) -}}
{{- end -}}
{{- if $r.spaced -}}
{{- fail (printf "%s[%d]: %q holds a flag and its value in one item, which the engine reads as one word and refuses; write %q, or the flag and its value as two items" $field $i (toString $a) (printf "%s=%s" $r.written $r.value)) -}}
{{- end -}}
{{- end -}}
{{- else -}}
{{- $owned := dict -}}
{{- range $k, $source := .owned -}}{{- $_ := set $owned ($k | replace "-" "_") $k -}}{{- end -}}
{{- range $k, $_ := (.given | default dict) -}}
{{- if and (not $found.at) (hasKey $owned ($k | replace "-" "_")) -}}{{- $_ := set $found "at" (printf "%s.%s" $field $k) -}}{{- $_ := set $found "key" (get $owned ($k | replace "-" "_")) -}}{{- end -}}
{{- end -}}
{{- with $found.at -}}
{{- $source := get $.owned $found.key -}}
{{- if hasPrefix "(" $source -}}
{{- fail (printf "%s: %s is not accepted here %s; remove it" . $found.key $source) -}}
{{- else -}}
{{- fail (printf "%s: %s is rendered by the chart from %s; set that value instead" . $found.key $source) -}}
{{- end -}}
{{- end -}}
{{- include "llm-common.secrets.refuseInMap" (dict "context" .context "at" $field "given" .given "wayOut" .wayOut) -}}
{{- end -}}
{{- end -}}
