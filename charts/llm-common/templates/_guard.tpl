{{/*
The guard: an HAProxy sidecar that is the only listener of an engine pod on the network, in front of an engine bound
to loopback.

Why: vLLM checks its API key (--api-key / VLLM_API_KEY) only on paths under /v1, /v2, /inference and /cohere
(vllm/entrypoints/serve/middleware/authenticate.py, GUARDED_PREFIX, v0.32.0). Every other route answers without a
key: POST /invocations (SageMaker) generates, POST /adapters and DELETE /adapters/{name} load and unload LoRA adapters
(with VLLM_ALLOW_RUNTIME_LORA_UPDATING), /pause, /tokenize, /pooling, /classify, /score and /rerank serve or change
state. So a key alone protects nothing against a client that can reach the engine's port.

The guard forwards only:
  /v1/...                          any method; vLLM checks the key on every /v1 route
  GET|HEAD /health /metrics        probes and Prometheus, without a key (they are not secret and change nothing)
and answers 404 to everything else. The engine listens on 127.0.0.1:guard.enginePort, which nothing outside the pod
can reach. The pod's serving port (the Service's target and the probes' port) is the guard's; the engine container
keeps declaring it, so probes, Service and ServiceMonitor are unchanged. On deletion the guard gets the same preStop
sleep and then SIGUSR1 (the HAProxy image's STOPSIGNAL: a soft stop): in-flight streams finish, nothing new arrives.

Values read (schemas/guard.schema.yaml): guard.enabled, guard.enginePort, guard.image, guard.maxConnections,
guard.timeoutSeconds, guard.resources; drain.* (llm-common.workload.lifecycle).
*/}}

{{/*
llm-common.guard.enabled: "true" when the engine runs behind the guard, else "".
Usage: {{- if include "llm-common.guard.enabled" (dict "context" .) }}...{{ end }}
*/}}
{{- define "llm-common.guard.enabled" -}}
{{- if (.context.Values.guard | default dict).enabled -}}true{{- end -}}
{{- end -}}

{{/*
llm-common.guard.listen: JSON {host, port} the engine server binds: 127.0.0.1:guard.enginePort behind the guard, else
0.0.0.0:<port> (the pod's serving port). Fails when guard.enginePort equals the serving port.
Parameters: context, port (the pod's serving port), portField (the value that sets it, for the error)
Usage: {{- $listen := include "llm-common.guard.listen" (dict "context" . "port" .Values.containerPort "portField" "containerPort") | fromJson -}}
*/}}
{{- define "llm-common.guard.listen" -}}
{{- if include "llm-common.guard.enabled" (dict "context" .context) -}}
{{- $engine := int .context.Values.guard.enginePort -}}
{{- if eq $engine (int .port) -}}
{{- fail (printf "%s (%d) must differ from %s (%d): the guard listens on the serving port, the engine behind it on loopback" (include "llm-common.context.field" (dict "context" .context "field" "guard.enginePort")) $engine (include "llm-common.context.field" (dict "context" .context "field" .portField)) (int .port)) -}}
{{- end -}}
{{- toJson (dict "host" "127.0.0.1" "port" $engine) -}}
{{- else -}}
{{- toJson (dict "host" "0.0.0.0" "port" (int .port)) -}}
{{- end -}}
{{- end -}}

{{/*
llm-common.guard.name: the guard ConfigMap's name, <fullname>-guard.
Usage: {{ include "llm-common.guard.name" (dict "context" .) }}
*/}}
{{- define "llm-common.guard.name" -}}
{{- include "llm-common.names.componentFullname" (dict "context" .context "component" "guard") -}}
{{- end -}}

{{/*
llm-common.guard.haproxyConfig: haproxy.cfg of the guard. No stats socket, no admin listener.
Parameters: context, port (the pod's serving port)
Usage: {{ include "llm-common.guard.haproxyConfig" (dict "context" . "port" 8000) }}
*/}}
{{- define "llm-common.guard.haproxyConfig" -}}
{{- $g := .context.Values.guard -}}
{{- $timeout := int $g.timeoutSeconds -}}
# Rendered by llm-common (llm-common.guard.haproxyConfig): the engine pod's only listener on the network.
global
    maxconn {{ int $g.maxConnections }}
    log stdout format raw local0 notice

defaults
    mode http
    log global
    option dontlognull
    # Token streams are interactive: send each chunk at once.
    option http-no-delay
    timeout connect 5s
    timeout http-request 30s
    timeout http-keep-alive 60s
    # Inactivity limits: a stream is idle only while a request waits for its first token.
    timeout client {{ $timeout }}s
    timeout server {{ $timeout }}s
    timeout tunnel {{ $timeout }}s

frontend engine
    bind 0.0.0.0:{{ int .port }}
    # The guard's own health, for its liveness probe.
    monitor-uri /guard-healthz
    acl read method GET HEAD
    acl open path /health /metrics
    # vLLM checks the API key on every /v1 route.
    acl api path_beg /v1/
    http-request return status 404 content-type application/json string '{"error":{"message":"Not Found","type":"NotFoundError","code":404}}' unless api || read open
    default_backend engine

backend engine
    server engine 127.0.0.1:{{ int $g.enginePort }}
{{- end -}}

{{/*
llm-common.guard.configMap: the guard's ConfigMap (haproxy.cfg), when guard.enabled; else nothing.
Parameters: context, component, port (the pod's serving port)
Usage: {{ include "llm-common.guard.configMap" (dict "context" . "component" "engine" "port" .Values.containerPort) }}
*/}}
{{- define "llm-common.guard.configMap" -}}
{{- if include "llm-common.guard.enabled" (dict "context" .context) -}}
apiVersion: v1
kind: ConfigMap
metadata:
  {{- include "llm-common.names.metadata" (dict "context" .context "component" .component "name" (include "llm-common.guard.name" (dict "context" .context))) | nindent 2 }}
data:
  haproxy.cfg: |
    {{- include "llm-common.guard.haproxyConfig" (dict "context" .context "port" .port) | nindent 4 }}
{{- end -}}
{{- end -}}

{{/*
llm-common.guard.volume: the pod's volume of the guard's config (a map for llm-common.workload.volumeList), or nothing
without the guard.
Usage: {{- $volumes := concat (list "models" "shm") (include "llm-common.guard.volume" (dict "context" .) | fromYamlArray) -}}
*/}}
{{- define "llm-common.guard.volume" -}}
{{- if include "llm-common.guard.enabled" (dict "context" .context) -}}
{{- toYaml (list (dict "name" "guard-config" "configMap" (dict "name" (include "llm-common.guard.name" (dict "context" .context))))) -}}
{{- else -}}
[]
{{- end -}}
{{- end -}}

{{/*
llm-common.guard.container: the guard container (a YAML list item), when guard.enabled; else nothing. It shares the
engine's preStop sleep and security context; its readiness and liveness probes are HAProxy's own monitor URI.
Parameters: context, port (the pod's serving port)
Usage: {{- include "llm-common.guard.container" (dict "context" . "port" .Values.containerPort) }}
*/}}
{{- define "llm-common.guard.container" -}}
{{- if include "llm-common.guard.enabled" (dict "context" .context) -}}
{{- $g := .context.Values.guard }}
- name: guard
  image: {{ include "llm-common.images.image" (dict "context" .context "image" $g.image "field" "guard.image") | quote }}
  imagePullPolicy: {{ $g.image.pullPolicy | default "IfNotPresent" }}
  command: ["haproxy", "-W", "-db", "-f", "/etc/llm-guard/haproxy.cfg"]
  readinessProbe:
    httpGet:
      path: /guard-healthz
      port: {{ int .port }}
    periodSeconds: 5
    timeoutSeconds: 2
    failureThreshold: 3
  livenessProbe:
    httpGet:
      path: /guard-healthz
      port: {{ int .port }}
    periodSeconds: 10
    timeoutSeconds: 2
    failureThreshold: 3
  {{- include "llm-common.workload.containerTail" (dict "context" .context "resources" $g.resources "omit" (list "probes")
        "volumeMounts" (list (dict "name" "guard-config" "mountPath" "/etc/llm-guard" "readOnly" true))) | nindent 2 }}
{{- end -}}
{{- end -}}
