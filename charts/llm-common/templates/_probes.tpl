{{/*
Probes for an engine container.

LLM engines do not open (or do not answer on) their port until the weights are loaded, which takes from
seconds (8B on a warm volume) to 10+ minutes (70B downloaded from the Hub). Kubernetes runs no liveness or
readiness probe until the startup probe has passed, so the startup probe carries the whole load-time budget
(probes.startup.budgetSeconds) and liveness can stay tight without killing a pod mid-load.

Values read (schemas/probes.schema.yaml):
  probes.port                          named container port the probes hit (default http)
  probes.<startup|readiness|liveness>.port   optional: another named port for that probe alone
  probes.startup.path|budgetSeconds|periodSeconds|timeoutSeconds
  probes.readiness.path|periodSeconds|timeoutSeconds|failureThreshold|successThreshold
  probes.liveness.path|periodSeconds|timeoutSeconds|failureThreshold
*/}}

{{/*
llm-common.probes.container: the startupProbe (failureThreshold = ceil(budgetSeconds / periodSeconds)),
readinessProbe and livenessProbe keys of a container, each an HTTP GET on its path.
Usage: {{- include "llm-common.probes.container" (dict "context" .) | nindent 10 }}
*/}}
{{- define "llm-common.probes.container" -}}
{{- $p := .context.Values.probes -}}
{{- $port := $p.port | default "http" -}}
{{- $s := $p.startup -}}
{{- $budget := int $s.budgetSeconds -}}
{{- $period := int ($s.periodSeconds | default 10) -}}
{{- if lt $budget $period -}}
{{- fail (printf "%s: %d is shorter than %s (%d); give the model at least one probe period to load" (include "llm-common.context.field" (dict "context" .context "field" "probes.startup.budgetSeconds")) $budget (include "llm-common.context.field" (dict "context" .context "field" "probes.startup.periodSeconds")) $period) -}}
{{- end }}
startupProbe:
  httpGet:
    path: {{ $s.path }}
    port: {{ $s.port | default $port }}
  periodSeconds: {{ $period }}
  timeoutSeconds: {{ int ($s.timeoutSeconds | default 5) }}
  # ceil(budgetSeconds / periodSeconds): the pod gets {{ $budget }}s to load the model.
  failureThreshold: {{ div (add $budget $period -1) $period }}
readinessProbe:
  httpGet:
    path: {{ $p.readiness.path }}
    port: {{ $p.readiness.port | default $port }}
  periodSeconds: {{ int ($p.readiness.periodSeconds | default 5) }}
  timeoutSeconds: {{ int ($p.readiness.timeoutSeconds | default 5) }}
  failureThreshold: {{ int ($p.readiness.failureThreshold | default 3) }}
  successThreshold: {{ int ($p.readiness.successThreshold | default 1) }}
livenessProbe:
  httpGet:
    path: {{ $p.liveness.path }}
    port: {{ $p.liveness.port | default $port }}
  periodSeconds: {{ int ($p.liveness.periodSeconds | default 10) }}
  timeoutSeconds: {{ int ($p.liveness.timeoutSeconds | default 5) }}
  failureThreshold: {{ int ($p.liveness.failureThreshold | default 3) }}
{{- end -}}

{{/*
llm-common.probes.checkPorts: fails when a probe port given as a number is not the container's serving port ("port"):
the kubelet would probe a port nothing listens on, and the pod would never become ready. Named ports are checked
against the pod by the invariants (engine_containers_have_probes).
Parameters: context, port (the container's serving port)
Usage: {{- include "llm-common.probes.checkPorts" (dict "context" . "port" .Values.containerPort) -}}
*/}}
{{- define "llm-common.probes.checkPorts" -}}
{{- $p := .context.Values.probes | default dict -}}
{{- $given := dict "probes.port" $p.port -}}
{{- range $k := list "startup" "readiness" "liveness" -}}
{{- $probe := get $p $k -}}
{{- if kindIs "map" $probe -}}{{- $_ := set $given (printf "probes.%s.port" $k) $probe.port -}}{{- end -}}
{{- end -}}
{{- range $f := list "probes.port" "probes.startup.port" "probes.readiness.port" "probes.liveness.port" -}}
{{- $v := get $given $f -}}
{{- if and (not (kindIs "invalid" $v)) (regexMatch "^[0-9]+$" (toString $v)) (ne (int $v) (int $.port)) -}}
{{- fail (printf "%s: %v is not the container's port (%d), so the probe would hit a port nothing listens on: use %d or the port's name, http" (include "llm-common.context.field" (dict "context" $.context "field" $f)) $v (int $.port) (int $.port)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
