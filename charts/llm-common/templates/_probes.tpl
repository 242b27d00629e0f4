{{/*
Probes for an engine container.

LLM engines do not open (or do not answer on) their port until the weights are loaded, which takes from
seconds (8B on a warm volume) to 10+ minutes (70B downloaded from the Hub). Kubernetes runs no liveness or
readiness probe until the startup probe has passed, so the startup probe carries the whole load-time budget
(probes.startup.budgetSeconds) and liveness can stay tight without killing a pod mid-load.

Values read (schemas/probes.schema.yaml):
  probes.port                          named container port the probes hit (default http)
  probes.<startup|readiness|liveness>.port   optional: another named port for that probe alone
  probes.startup.path|budgetSeconds|periodSeconds|timeoutSeconds   (budgetSeconds null: llm-common.probes.startupBudget)
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
{{- $budget := include "llm-common.probes.startupBudget" (dict "context" .context) | int -}}
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
llm-common.probes.startupBudget: the startup probe's budget in seconds (an integer): probes.startup.budgetSeconds when
set; when null, derived from the model's size as `llmcharts plan` derives it (src/llmcharts/plan.py: engine start 120 s
+ weights / load bandwidth, x 1.5, rounded up to a minute), the size being model.sizeBytes, else
model.profile.weightsBytes, and the bandwidth model.loadBandwidth (default 250M, 250 MB/s); 1800 when the size is
unknown.
Usage: {{ include "llm-common.probes.startupBudget" (dict "context" .) | int }}
*/}}
{{- define "llm-common.probes.startupBudget" -}}
{{- $s := .context.Values.probes.startup -}}
{{- if not (kindIs "invalid" $s.budgetSeconds) -}}
{{- int $s.budgetSeconds -}}
{{- else -}}
{{- $load := include "llm-common.probes.loadSeconds" (dict "context" .context) | float64 -}}
{{- if gt $load 0.0 -}}
{{- mul (ceil (divf (mulf (addf 120.0 $load) 1.5) 60.0) | int64) 60 -}}
{{- else -}}
1800
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.probes.loadSeconds: seconds the model's weights take to move at the assumed bandwidth (model.sizeBytes,
else model.profile.weightsBytes, over model.loadBandwidth, default 250M), as a decimal string; 0 when the size is
unknown.
Usage: {{ include "llm-common.probes.loadSeconds" (dict "context" .) | float64 }}
*/}}
{{- define "llm-common.probes.loadSeconds" -}}
{{- $m := .context.Values.model | default dict -}}
{{- if not (kindIs "map" $m) -}}{{- $m = dict -}}{{- end -}}
{{- $size := $m.sizeBytes | default (($m.profile | default dict).weightsBytes) | default 0 | float64 -}}
{{- if gt $size 0.0 -}}
{{- $bw := include "llm-common.quantity.bytes" (dict "context" .context "value" ($m.loadBandwidth | default "250M") "field" "model.loadBandwidth") | float64 -}}
{{- divf $size $bw -}}
{{- else -}}
0
{{- end -}}
{{- end -}}

{{/*
llm-common.probes.progressDeadlineSeconds: a Deployment's progressDeadlineSeconds, when its values have a startup
probe: .Values.progressDeadlineSeconds when set, else the startup budget + the prefetch time (an init container that
copies the weights first: their load time, or the budget again when the size is unknown) + 600 s for scheduling and
the image pull. Without it Kubernetes reports a rollout as failed (ProgressDeadlineExceeded) after 600 s, while a 70B
model is still loading. A set value not above the startup budget is refused, naming it. Nothing without a startup
probe.
Parameters: context, prefetch (bool: the pod fetches the weights in an init container first)
Usage: {{ include "llm-common.probes.progressDeadlineSeconds" (dict "context" . "prefetch" true) }}
*/}}
{{- define "llm-common.probes.progressDeadlineSeconds" -}}
{{- $v := .context.Values -}}
{{- if (($v.probes | default dict).startup) -}}
{{- $budget := include "llm-common.probes.startupBudget" (dict "context" .context) | int -}}
{{- if not (kindIs "invalid" $v.progressDeadlineSeconds) -}}
{{- if le (int $v.progressDeadlineSeconds) $budget -}}
{{- fail (printf "%s (%d) must be above the startup budget (%d s, %s): Kubernetes would report the rollout failed while the model still loads; raise it or leave it null (derived)" (include "llm-common.context.field" (dict "context" .context "field" "progressDeadlineSeconds")) (int $v.progressDeadlineSeconds) $budget (include "llm-common.context.field" (dict "context" .context "field" "probes.startup.budgetSeconds"))) -}}
{{- end -}}
{{- int $v.progressDeadlineSeconds -}}
{{- else -}}
{{- $fetch := 0 -}}
{{- if .prefetch -}}
{{- $load := include "llm-common.probes.loadSeconds" (dict "context" .context) | float64 -}}
{{- $fetch = ternary (ceil $load | int) $budget (gt $load 0.0) -}}
{{- end -}}
{{- add $budget $fetch 600 -}}
{{- end -}}
{{- end -}}
{{- end -}}
