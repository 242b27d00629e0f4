{{/*
The gateway pod, in three containers that share its network namespace:

  proxy      HAProxy on the pod's only public port (gateway.containerPort): forwards the OpenAI routes and the
             probes to the router, GET /v1/models to the registrar, and answers 404 to everything else (the
             router's admin API included). A second HAProxy listener on loopback is the "hop" (see below).
  router     vllm-router in multi-model (IGW) mode on 127.0.0.1 only: its admin API (POST/DELETE /workers) has no
             authentication of its own, so nothing outside the pod may reach it. Its Prometheus metrics are
             served on gateway.metricsPort.
  registrar  files/registrar.py: keeps the router's workers equal to the ready engine pods (EndpointSlices) and
             the names each serves (its /v1/models: base name, aliases, LoRA adapters, runtime-loaded ones too),
             and answers GET /v1/models on loopback.

The hop: vllm-router keeps one model per worker URL, so a replica serving several names is registered once per
name; its first name at the replica's own URL, every further name at http://127.0.0.1:<hop>/<address>/<port>/<tag>,
which HAProxy sends to <address>:<port> with the first three path segments removed.

llm-stack.gateway.context: fills .out with the context the llm-common helpers read the gateway's values from
(llm-common.context.component: gateway.* laid over the release-wide values, errors naming "gateway.<value>"; a CPU
pod). Its probes go through the proxy's port: the router itself listens on loopback, which the kubelet cannot reach.
Usage: {{- $g := dict -}}{{- include "llm-stack.gateway.context" (dict "context" . "out" $g) -}}
*/}}
{{- define "llm-stack.gateway.context" -}}
{{- $gw := .context.Values.gateway -}}
{{- $values := merge (dict "accelerator" (dict "type" "cpu" "count" 0)) (deepCopy $gw) -}}
{{- $_ := set $values "probes" (merge (dict "port" (int $gw.containerPort)) (omit $values.probes "port")) -}}
{{- include "llm-common.context.component" (dict "context" .context "values" $values "fieldPrefix" "gateway." "out" .out) -}}
{{- end -}}

{{/*
llm-stack.gateway.ports: the loopback ports of the router, the hop and the registrar (inside the pod only).
Usage: {{- $ports := include "llm-stack.gateway.ports" . | fromJson -}}
*/}}
{{- define "llm-stack.gateway.ports" -}}
{{- toJson (dict "router" 8001 "hop" 8002 "registrar" 8003) -}}
{{- end -}}

{{/*
llm-stack.gateway.routerFlags: JSON list of [flag, value, kind, field] for vllm-router (llm-common.args.flags);
gateway.extraArgs may add any other router flag, but none of these (llm-common.args.extra refuses them).
Usage: {{- $flags := include "llm-stack.gateway.routerFlags" . | fromJsonArray -}}
*/}}
{{- define "llm-stack.gateway.routerFlags" -}}
{{- $gw := .Values.gateway -}}
{{- $ports := include "llm-stack.gateway.ports" . | fromJson -}}
{{- toJson (list
  (list "host" "127.0.0.1" "str" "(chart: loopback only, the admin API has no authentication)")
  (list "port" $ports.router "int" "(chart: the proxy forwards gateway.containerPort to it)")
  (list "enable-igw" true "flag" "(chart: multi-model mode)")
  (list "policy" $gw.policy "str" "gateway.policy")
  (list "prometheus-host" "0.0.0.0" "str" "(chart)")
  (list "prometheus-port" $gw.metricsPort "int" "gateway.metricsPort")
  (list "request-timeout-secs" $gw.requestTimeoutSeconds "int" "gateway.requestTimeoutSeconds")
  (list "health-check-endpoint" "/health" "str" "(chart: the engines' /health)")
  (list "health-check-interval-secs" $gw.healthCheck.intervalSeconds "int" "gateway.healthCheck.intervalSeconds")
  (list "health-check-timeout-secs" $gw.healthCheck.timeoutSeconds "int" "gateway.healthCheck.timeoutSeconds")
  (list "health-failure-threshold" $gw.healthCheck.failureThreshold "int" "gateway.healthCheck.failureThreshold")
  (list "worker-urls" nil "str" "(chart: the registrar registers the workers)")
  (list "service-discovery" nil "str" "(chart: the registrar registers the workers)")
  (list "api-key" nil "str" "(chart: each engine checks the client's key)")
) -}}
{{- end -}}

{{/*
llm-stack.gateway.openaiPaths: the API routes the proxy forwards to the router (vllm-router 0.1.17's OpenAI
routes); GET /v1/models and /v1/models/<id> go to the registrar. Anything else is answered 404 by the proxy.
Usage: {{ include "llm-stack.gateway.openaiPaths" . }}
*/}}
{{- define "llm-stack.gateway.openaiPaths" -}}
/v1/chat/completions /v1/completions /v1/embeddings /v1/rerank /v1/responses
{{- end -}}

{{/*
llm-stack.gateway.haproxyConfig: haproxy.cfg of the proxy container. HAProxy's official image stops on SIGUSR1
(its STOPSIGNAL): a soft stop, so in-flight streams finish while nothing new is accepted.
Usage: {{ include "llm-stack.gateway.haproxyConfig" . }}
*/}}
{{- define "llm-stack.gateway.haproxyConfig" -}}
{{- $gw := .Values.gateway -}}
{{- $ports := include "llm-stack.gateway.ports" . | fromJson -}}
{{- $timeout := int $gw.requestTimeoutSeconds -}}
# Rendered by the llm-stack chart (templates/_gateway.tpl). No stats socket, no admin listener.
global
    maxconn {{ int $gw.proxy.maxConnections }}
    log stdout format raw local0 notice

defaults
    mode http
    log global
    option dontlognull
    # Streams are interactive: send each chunk at once (no MSG_MORE coalescing, which holds small writes back
    # until more data or a delayed ACK: tens to hundreds of milliseconds on a token stream).
    option http-no-delay
    timeout connect 5s
    timeout http-request 30s
    timeout http-keep-alive 60s
    # Streams last as long as the longest generation (gateway.requestTimeoutSeconds).
    timeout client {{ $timeout }}s
    timeout server {{ $timeout }}s

frontend openai
    bind 0.0.0.0:{{ int $gw.containerPort }}
    # HAProxy's own health, for the proxy container's probes.
    monitor-uri /haproxy-healthz
    option forwardfor
    acl read method GET HEAD
    acl probe path /health /readiness /liveness
    acl models path /v1/models
    acl models path_beg /v1/models/
    acl openai path {{ include "llm-stack.gateway.openaiPaths" . }}
    acl openai path_beg /v1/responses/
    http-request return status 404 content-type application/json string '{"error":{"message":"Not Found","type":"NotFoundError","code":404}}' unless read probe || read models || openai
    use_backend registrar if models
    default_backend router

backend router
    server router 127.0.0.1:{{ $ports.router }}

backend registrar
    server registrar 127.0.0.1:{{ $ports.registrar }}

# The hop (loopback only): /<address>/<port>/<tag>/<rest> -> http://<address>:<port>/<rest>.
frontend hop
    bind 127.0.0.1:{{ $ports.hop }}
    http-request set-var(txn.dst_addr) path,field(2,/)
    http-request set-var(txn.dst_port) path,field(3,/)
    http-request set-path /%[path,field(5,/,0)]
    http-request set-dst var(txn.dst_addr)
    http-request set-dst-port var(txn.dst_port)
    default_backend hop

backend hop
    server endpoint 0.0.0.0:0
{{- end -}}

{{/*
llm-stack.gateway.registrarConfig: backends.json for files/registrar.py. Each backend's API key is read from the
env var keyEnv (set from the engine's Secret when it lives in the gateway's namespace).
Usage: {{ include "llm-stack.gateway.registrarConfig" . }}
*/}}
{{- define "llm-stack.gateway.registrarConfig" -}}
{{- $gw := .Values.gateway -}}
{{- $ports := include "llm-stack.gateway.ports" . | fromJson -}}
{{- $out := list -}}
{{- range $i, $b := include "llm-stack.backends" . | fromJsonArray -}}
{{- $names := list -}}
{{- range .names -}}{{- $names = append $names .name -}}{{- end -}}
{{- $entry := dict "source" .source "names" $names "discovery" .discovery "pathPrefix" (.pathPrefix | default "") -}}
{{- if eq .discovery "endpoints" -}}
{{- $_ := merge $entry (dict "namespace" .namespace "service" .service "port" (int .port) "portName" (.portName | default "")) -}}
{{- else -}}
{{- $_ := set $entry "url" .url -}}
{{- end -}}
{{- if include "llm-stack.gateway.keyEnv" (dict "root" $ "backend" . "index" $i) -}}
{{- $_ := set $entry "keyEnv" (include "llm-stack.gateway.keyEnv" (dict "root" $ "backend" . "index" $i)) -}}
{{- end -}}
{{- $out = append $out $entry -}}
{{- end -}}
{{- toPrettyJson (dict
      "router" (printf "http://127.0.0.1:%d" (int $ports.router))
      "hop" (printf "http://127.0.0.1:%d" (int $ports.hop))
      "listen" (printf "127.0.0.1:%d" (int $ports.registrar))
      "refreshSeconds" (int $gw.registrar.intervalSeconds)
      "requestTimeoutSeconds" (int $gw.healthCheck.timeoutSeconds)
      "backends" $out) -}}
{{- end -}}

{{/*
llm-stack.gateway.keyEnv: the registrar's env var holding a backend's API key ("" when it has none, or its Secret
is in another namespace, where the gateway pod cannot read it).
Usage: {{ include "llm-stack.gateway.keyEnv" (dict "root" . "backend" $b "index" $i) }}
*/}}
{{- define "llm-stack.gateway.keyEnv" -}}
{{- $b := .backend -}}
{{- if and $b.apiKey $b.apiKey.secretName (eq ($b.namespace | default "") (include "llm-common.names.namespace" (dict "context" .root))) -}}
{{- printf "BACKEND_%d_API_KEY" (int .index) -}}
{{- end -}}
{{- end -}}

{{/*
llm-stack.gateway.discoveryNamespaces: JSON list of the namespaces whose EndpointSlices the registrar watches.
Usage: {{- $namespaces := include "llm-stack.gateway.discoveryNamespaces" . | fromJsonArray -}}
*/}}
{{- define "llm-stack.gateway.discoveryNamespaces" -}}
{{- $out := list -}}
{{- range include "llm-stack.backends" . | fromJsonArray -}}
{{- if eq .discovery "endpoints" -}}{{- $out = append $out .namespace -}}{{- end -}}
{{- end -}}
{{- toJson ($out | uniq | sortAlpha) -}}
{{- end -}}

{{/*
llm-stack.gateway.containers: the gateway pod's three containers (see the top of this file), as YAML list items for
llm-common.workload.deployment.
Parameters: context (the chart's), gateway (its llm-stack.gateway.context)
Usage: {{ include "llm-stack.gateway.containers" (dict "context" . "gateway" $g) }}
*/}}
{{- define "llm-stack.gateway.containers" -}}
{{- $root := .context -}}
{{- $g := .gateway -}}
{{- $gw := $root.Values.gateway -}}
{{- $config := dict "name" "config" "mountPath" "/etc/llm-gateway" "readOnly" true -}}
{{- $ownImage := not (empty $gw.registrar.image.repository) -}}
{{- $registrarImage := ternary $gw.registrar.image $gw.image $ownImage -}}
# The pod's only public listener: OpenAI routes and probes to the router, /v1/models to the registrar,
# 404 for anything else (the router's admin API included).
- name: proxy
  image: {{ include "llm-common.images.image" (dict "context" $g "image" $gw.proxy.image "field" "proxy.image") | quote }}
  imagePullPolicy: {{ $gw.proxy.image.pullPolicy }}
  command: ["haproxy", "-W", "-db", "-f", "/etc/llm-gateway/haproxy.cfg"]
  startupProbe:
    httpGet:
      path: /haproxy-healthz
      port: http
    periodSeconds: 1
    failureThreshold: 30
  livenessProbe:
    httpGet:
      path: /haproxy-healthz
      port: http
    periodSeconds: 10
    timeoutSeconds: 2
    failureThreshold: 3
  {{- include "llm-common.workload.containerTail" (dict "context" $g "port" $gw.containerPort "resources" $gw.proxy.resources "omit" (list "probes")
        "volumeMounts" (list $config)) | nindent 2 }}
- name: router
  image: {{ include "llm-common.images.image" (dict "context" $g "image" $gw.image) | quote }}
  imagePullPolicy: {{ $gw.image.pullPolicy }}
  command: ["vllm-router"]
  args:
    {{- $flags := include "llm-stack.gateway.routerFlags" $root | fromJsonArray -}}
    {{- include "llm-common.args.flags" (dict "context" $g "flags" $flags) | nindent 4 }}
    {{- include "llm-common.args.extra" (dict "context" $g "flags" $flags "parser" "router") | nindent 4 }}
  {{- with (include "llm-common.env.extraEnv" (dict "context" $g) | trim) }}
  env:
    {{- . | nindent 4 }}
  {{- end }}
  ports:
    - name: metrics
      containerPort: {{ int $gw.metricsPort }}
      protocol: TCP
  # Probes through the proxy's port: the kubelet cannot reach the router's loopback listener.
  {{- include "llm-common.workload.containerTail" (dict "context" $g "resources" $gw.resources) | nindent 2 }}
- name: registrar
  image: {{ include "llm-common.images.image" (dict "context" $g "image" $registrarImage "field" (ternary "registrar.image" "image" $ownImage)) | quote }}
  imagePullPolicy: {{ $registrarImage.pullPolicy | default "IfNotPresent" }}
  command: ["python3", "/etc/llm-gateway/registrar.py", "/etc/llm-gateway/backends.json",
            "--serviceaccount", "/var/run/secrets/llm-gateway/serviceaccount"]
  {{- $keys := list -}}
  {{- range $i, $b := include "llm-stack.backends" $root | fromJsonArray -}}
  {{- with include "llm-stack.gateway.keyEnv" (dict "root" $root "backend" $b "index" $i) -}}
  {{- $keys = append $keys (dict "name" . "valueFrom" (dict "secretKeyRef" (dict "name" $b.apiKey.secretName "key" $b.apiKey.secretKey "optional" true))) -}}
  {{- end -}}
  {{- end }}
  {{- with $keys }}
  env:
    # Engine API keys: the registrar reads each engine's /v1/models (the names it serves) with them.
    {{- toYaml . | nindent 4 }}
  {{- end }}
  livenessProbe:
    exec:
      command: ["python3", "/etc/llm-gateway/registrar.py", "/etc/llm-gateway/backends.json", "--probe"]
    initialDelaySeconds: 10
    periodSeconds: 15
    timeoutSeconds: 5
    failureThreshold: 4
  {{- $mounts := list $config -}}
  {{- if include "llm-stack.gateway.discoveryNamespaces" $root | fromJsonArray -}}
  {{- $mounts = append $mounts (dict "name" "serviceaccount" "mountPath" "/var/run/secrets/llm-gateway/serviceaccount" "readOnly" true) -}}
  {{- end }}
  {{- include "llm-common.workload.containerTail" (dict "context" $g "resources" $gw.registrar.resources "omit" (list "probes") "volumeMounts" $mounts) | nindent 2 }}
{{- end -}}
