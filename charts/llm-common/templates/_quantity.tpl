{{/*
llm-common.quantity.bytes: a Kubernetes memory quantity ("32Gi", "500M", "1.5Gi", "1073741824") in bytes, as a
decimal string, so that charts can compare sizes (shm against the memory limit).
Fails on anything that is not a quantity, naming the value ("field", a path in the context's values).
Parameters: context, value, field
Usage: {{ include "llm-common.quantity.bytes" (dict "context" . "value" .Values.shm.sizeLimit "field" "shm.sizeLimit") | float64 }}
*/}}
{{- define "llm-common.quantity.bytes" -}}
{{- $v := toString .value -}}
{{- if not (regexMatch "^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$" $v) -}}
{{- fail (printf "%s: %q is not a memory quantity (examples: 16Gi, 512Mi, 1.5Gi)" (include "llm-common.context.field" (dict "context" .context "field" .field)) $v) -}}
{{- end -}}
{{- $num := regexFind "^[0-9]+(\\.[0-9]+)?" $v | float64 -}}
{{- $unit := trimPrefix (regexFind "^[0-9]+(\\.[0-9]+)?" $v) $v -}}
{{- $mult := dict "" 1.0 "k" 1e3 "M" 1e6 "G" 1e9 "T" 1e12 "P" 1e15 "E" 1e18 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 "Ei" 1152921504606846976.0 -}}
{{- mulf $num (get $mult $unit) | printf "%.0f" -}}
{{- end -}}

{{/*
llm-common.quantity.seconds: a Prometheus duration ("15s", "1m30s", "500ms") in seconds, as a decimal string.
Fails on anything else, naming the value ("field").
Parameters: context, value, field
Usage: {{ include "llm-common.quantity.seconds" (dict "context" . "value" "1m30s" "field" "metrics.serviceMonitor.interval") | float64 }}
*/}}
{{- define "llm-common.quantity.seconds" -}}
{{- $v := toString .value -}}
{{- if not (regexMatch "^([0-9]+(ms|s|m|h|d|w|y))+$" $v) -}}
{{- fail (printf "%s: %q is not a duration (examples: 15s, 1m, 1m30s)" (include "llm-common.context.field" (dict "context" .context "field" .field)) $v) -}}
{{- end -}}
{{- $unit := dict "ms" 0.001 "s" 1.0 "m" 60.0 "h" 3600.0 "d" 86400.0 "w" 604800.0 "y" 31536000.0 -}}
{{- $total := 0.0 -}}
{{- range regexFindAll "[0-9]+(ms|s|m|h|d|w|y)" $v -1 -}}
{{- $n := regexFind "^[0-9]+" . -}}
{{- $total = addf $total (mulf ($n | float64) (get $unit (trimPrefix $n .))) -}}
{{- end -}}
{{- $total -}}
{{- end -}}
