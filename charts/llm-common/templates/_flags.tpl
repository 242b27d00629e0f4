{{/*
Flags as an engine's own parser reads them: the duplicate-flag guard (llm-common.args.refuseOwned) and the literal
secret guard judge extraArgs through here, so spelling a flag another way (a short alias, an underscore, a prefix,
the flag and its value in one item) does not pass them. The parsers' tables are generated (_flagtables.tpl).
*/}}

{{/*
llm-common.flags.table: the option table of one engine's parser as JSON (llm-common.flagtables.<parser>), {} for a
parser without one (TGI's launcher: clap takes exact long flags only).
Parameters: context, parser ("vllm", "router" or "")
Usage: {{- $table := include "llm-common.flags.table" (dict "context" . "parser" "vllm") | fromJson -}}
*/}}
{{- define "llm-common.flags.table" -}}
{{- if has .parser (list "vllm" "router") -}}
{{- include (printf "llm-common.flagtables.%s" .parser) (dict "context" .context) -}}
{{- else -}}
{}
{{- end -}}
{{- end -}}

{{/*
llm-common.flags.read: one extraArgs item as the engine's parser reads it, as JSON {"written", "flag", "spaced",
"value"}: "written" the flag as the user wrote it ("" for an item that is not a flag), "flag" the long option the
parser resolves it to, "spaced" true when the flag and a value share one item ("--tensor-parallel-size 2", which
argparse takes for a positional argument), "value" what follows the flag in the item. The flag is the part before
"=" (or before the first space); then, for vLLM (FlexibleArgumentParser.parse_args): "-O3" is
--optimization-level, a dotted key (--speculative-config.method) is its flag's, "_" reads as "-"; then the table's
aliases (-tp, -q, ...); then, since argparse's allow_abbrev is on in both parsers, an unambiguous prefix of a long
option is that option.
Parameters: context, arg (the item), parser ("vllm", "router" or ""), table (llm-common.flags.table of that parser),
exact (optional: no prefix matching, for flags the chart itself names)
Usage: {{- $r := include "llm-common.flags.read" (dict "context" . "arg" "-tp=2" "parser" "vllm" "table" $table) | fromJson -}}
*/}}
{{- define "llm-common.flags.read" -}}
{{- $s := trim (toString .arg) -}}
{{- $out := dict "written" "" "flag" "" "spaced" false "value" "" -}}
{{- if and (hasPrefix "-" $s) (ne $s "-") (ne $s "--") (not (regexMatch "^-[0-9.]" $s)) -}}
{{- $written := regexReplaceAll "(?s)=.*$" $s "" -}}
{{- if regexMatch "\\s" $written -}}
{{- $written = regexFind "^\\S+" $written -}}
{{- $_ := set $out "spaced" true -}}
{{- end -}}
{{- $_ := set $out "written" $written -}}
{{- $_ := set $out "value" (trim (trimPrefix $written $s) | trimPrefix "=") -}}
{{- $flag := $written -}}
{{- if eq .parser "vllm" -}}
{{- if regexMatch "^-O." $flag -}}
{{- $flag = "--optimization-level" -}}
{{- else if hasPrefix "--" $flag -}}
{{- $flag = regexReplaceAll "\\..*$" $flag "" | replace "_" "-" -}}
{{- end -}}
{{- end -}}
{{- if hasKey .table $flag -}}
{{- $flag = get .table $flag -}}
{{- else if and (hasPrefix "--" $flag) .table (not .exact) -}}
{{- $hits := dict -}}
{{- range $opt, $canonical := .table -}}
{{- if and (hasPrefix "--" $opt) (hasPrefix $flag $opt) -}}{{- $_ := set $hits $canonical true -}}{{- end -}}
{{- end -}}
{{- if eq (len $hits) 1 -}}{{- $flag = first (keys $hits) -}}{{- end -}}
{{- end -}}
{{- $_ := set $out "flag" $flag -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}
