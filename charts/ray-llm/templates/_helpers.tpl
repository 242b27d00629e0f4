{{/*
ray-llm chart helpers. Everything engine-agnostic comes from the llm-common library chart; the llm-common helpers
read one pod's values from .Values, so each Ray group (head, worker) gets its own context (ray-llm.groupContext).
*/}}

{{/*
ray-llm.str: a value as a string for rayStartParams (KubeRay <= 1.3 types them map[string]string): integral
numbers without an exponent (values arrive as float64), booleans as true/false.
Usage: {{ include "ray-llm.str" $value }}
*/}}
{{- define "ray-llm.str" -}}
{{- if and (kindIs "float64" .) (eq (floor .) .) -}}
{{- printf "%.0f" . -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}

{{/*
ray-llm.groupContext: fills .out with a template context for one Ray group ("head" or "worker") of .root: the
llm-common helpers then read that group's accelerator, resources, shm, probes and scheduling from .Values, plus
the release-wide values (global, drain, modelStorage, hfToken, security, names). .fieldPrefix makes the helpers'
error messages name the group's value paths.
Usage: {{- $ctx := dict -}}{{- include "ray-llm.groupContext" (dict "root" . "group" "worker" "out" $ctx) -}}
*/}}
{{- define "ray-llm.groupContext" -}}
{{- $g := get .root.Values .group -}}
{{- $values := dict
  "accelerator" $g.accelerator
  "resources" $g.resources
  "shm" ($g.shm | default (dict "enabled" false))
  "probes" $g.probes
  "extraEnv" $g.extraEnv
  "nodeSelector" $g.nodeSelector
  "tolerations" $g.tolerations
  "affinity" $g.affinity
  "topologySpreadConstraints" $g.topologySpreadConstraints
  "priorityClassName" $g.priorityClassName
  "podLabels" $g.podLabels
  "podAnnotations" $g.podAnnotations
-}}
{{- include "llm-common.context.component" (dict "context" .root "values" $values "fieldPrefix" (printf "%s." .group) "out" .out
      "shared" (list "serviceAccount" "podSecurityContext" "containerSecurityContext" "drain" "modelStorage" "hfToken")) -}}
{{- end -}}

{{/*
ray-llm.workerCapacity: GPUs the worker group can offer at most: maxReplicas pods with the autoscaler, else the
fixed replicas.
Usage: {{ include "ray-llm.workerCapacity" . | int }}
*/}}
{{- define "ray-llm.workerCapacity" -}}
{{- $w := .Values.worker -}}
{{- $pods := ternary (int $w.maxReplicas) (int $w.replicas) (.Values.ray.autoscaler.enabled | default false) -}}
{{- mul $pods (int $w.accelerator.count) -}}
{{- end -}}

{{/*
ray-llm.source: the model's source as JSON (llm-common.source.resolve), when model.source is an object (the model.source
shape of every engine chart); {} when it is a string (a Hub repo id or a path, as before) or empty. Ray Serve LLM
fetches s3:// and gs:// itself (model_source: {bucket_uri}), on every pod that loads the model; a pvc:// or oci://
source is refused (mount the claim with modelStorage.type existingClaim and give its path).
Usage: {{- $src := include "ray-llm.source" . | fromJson -}}
*/}}
{{- define "ray-llm.source" -}}
{{- $m := .Values.model -}}
{{- if kindIs "map" $m.source -}}
{{- $src := include "llm-common.source.resolve" (dict "context" . "source" $m.source "field" "model.source" "name" $m.id "nameField" "model.id"
      "revisionField" "model.source.revision" "stream" false "external" true) | fromJson -}}
{{- if has $src.scheme (list "pvc" "oci") -}}
{{- fail (printf "model.source.uri: %s sources are not mounted on Ray pods; mount the weights with modelStorage.type existingClaim and set model.source.uri to their path under modelStorage.mountPath" $src.scheme) -}}
{{- end -}}
{{- toJson $src -}}
{{- else -}}
{{- toJson dict -}}
{{- end -}}
{{- end -}}

{{/*
ray-llm.engineKwargs: llm_configs[0].engine_kwargs as JSON: the vLLM engine-argument table (llm-common.vllm.engineArgs)
by vLLM's names, then engine.extraKwargs, where keys the chart renders are refused, and so are those Ray Serve LLM
or the chart owns otherwise (their rows below name what to set instead).
Usage: {{- $kwargs := include "ray-llm.engineKwargs" . | fromJson -}}
*/}}
{{- define "ray-llm.engineKwargs" -}}
{{- $rows := concat (include "llm-common.vllm.engineArgs" (dict "context" .) | fromJsonArray) (list
  (list "model" nil "str" "model.source (Ray Serve LLM passes model_loading_config to vLLM)")
  (list "served-model-name" nil "str" "model.id (Ray Serve LLM passes model_loading_config to vLLM)")
  (list "tokenizer" nil "str" "model.tokenizerSource")
  (list "distributed-executor-backend" nil "str" "(Ray Serve LLM runs the engine workers on Ray)")
  (list "hf-token" nil "str" "hfToken.secretName (HF_TOKEN from a Secret)")
) -}}
{{- include "llm-common.vllm.engineKwargs" (dict "context" . "rows" $rows "extra" .Values.engine.extraKwargs "field" "engine.extraKwargs") -}}
{{- end -}}

{{/*
ray-llm.llmConfig: llm_configs[0] (Ray Serve LLM's LLMConfig) as JSON.
GPUs are not given to the replica actor (no ray_actor_options.num_gpus, the seed's mistake: no actor can hold
GPUs of four nodes); Ray Serve LLM reserves tensor x pipeline parallel one-GPU bundles in a placement group, which
Ray spreads over the worker pods.
Usage: {{- $cfg := include "ray-llm.llmConfig" . | fromJson -}}
*/}}
{{- define "ray-llm.llmConfig" -}}
{{- $l := .Values.llm -}}
{{- $m := .Values.model -}}
{{- $loading := dict "model_id" $m.id -}}
{{- $src := include "ray-llm.source" . | fromJson -}}
{{- if not $src.scheme -}}
{{- with $m.source }}{{- $_ := set $loading "model_source" . -}}{{- end -}}
{{- else if eq $src.load "external" -}}
{{- $_ := set $loading "model_source" (dict "bucket_uri" $src.uri) -}}
{{- else -}}
{{- $_ := set $loading "model_source" $src.model -}}
{{- end -}}
{{- with $m.tokenizerSource }}{{- $_ := set $loading "tokenizer_source" . -}}{{- end -}}
{{- $d := $l.deployment -}}
{{- $as := $d.autoscaling -}}
{{- $autoscaling := dict "min_replicas" (int64 $as.minReplicas) "max_replicas" (int64 $as.maxReplicas) -}}
{{- range $key, $v := (dict "initial_replicas" $as.initialReplicas "upscale_delay_s" $as.upscaleDelayS "downscale_delay_s" $as.downscaleDelayS) -}}
{{- if not (kindIs "invalid" $v) -}}{{- $_ := set $autoscaling $key (int64 $v) -}}{{- end -}}
{{- end -}}
{{- if not (kindIs "invalid" $as.targetOngoingRequests) -}}
{{- $_ := set $autoscaling "target_ongoing_requests" (float64 $as.targetOngoingRequests) -}}
{{- end -}}
{{- $deployment := dict "autoscaling_config" $autoscaling "graceful_shutdown_timeout_s" (int64 .Values.drain.inflightTimeoutSeconds) -}}
{{- if not (kindIs "invalid" $d.maxOngoingRequests) -}}{{- $_ := set $deployment "max_ongoing_requests" (int64 $d.maxOngoingRequests) -}}{{- end -}}
{{- if not (kindIs "invalid" $d.maxQueuedRequests) -}}{{- $_ := set $deployment "max_queued_requests" (int64 $d.maxQueuedRequests) -}}{{- end -}}
{{- $cfg := dict
  "model_loading_config" $loading
  "engine_kwargs" (include "ray-llm.engineKwargs" . | fromJson)
  "deployment_config" $deployment
  "log_engine_metrics" $l.logEngineMetrics
-}}
{{- with $l.acceleratorType }}{{- $_ := set $cfg "accelerator_type" . -}}{{- end -}}
{{- with $l.runtimeEnv }}{{- $_ := set $cfg "runtime_env" . -}}{{- end -}}
{{- $owned := dict "model_loading_config" "model.*" "engine_kwargs" "engine.* (engine.extraKwargs)" "deployment_config" "llm.deployment and drain.inflightTimeoutSeconds" "accelerator_type" "llm.acceleratorType" "runtime_env" "llm.runtimeEnv" "log_engine_metrics" "llm.logEngineMetrics" -}}
{{- include "llm-common.args.refuseOwned" (dict "context" . "field" "llm.extraConfig" "given" $l.extraConfig "owned" $owned) -}}
{{- toJson (merge $cfg ($l.extraConfig | default dict)) -}}
{{- end -}}

{{/*
ray-llm.serveConfig: the Ray Serve config (ServeDeploySchema) as YAML: one application running Ray Serve LLM's
OpenAI app builder. KubeRay types serveConfigV2 as a plain string, so the CRD cannot check it; CI validates every
rendered one with the pinned Ray's own models (src/llmcharts/ray_serve_check.py).
Usage: serveConfigV2: | {{- include "ray-llm.serveConfig" . | nindent 4 }}
*/}}
{{- define "ray-llm.serveConfig" -}}
{{- $s := .Values.serve -}}
{{- $http := dict "host" "0.0.0.0" "port" (int64 $s.port) -}}
{{- if not (kindIs "invalid" $s.requestTimeoutS) -}}{{- $_ := set $http "request_timeout_s" (float64 $s.requestTimeoutS) -}}{{- end -}}
{{- $args := dict "llm_configs" (list (include "ray-llm.llmConfig" . | fromJson)) -}}
{{- with $s.ingressDeploymentConfig }}{{- $_ := set $args "ingress_deployment_config" . -}}{{- end -}}
{{- $app := dict "name" $s.appName "route_prefix" $s.routePrefix "import_path" "ray.serve.llm:build_openai_app" "args" $args -}}
{{- toYaml (dict "proxy_location" $s.proxyLocation "http_options" $http "applications" (list $app)) -}}
{{- end -}}

{{/*
ray-llm.image: the Ray image, after checking that it carries Ray Serve LLM: rayproject/ray-llm (or a mirror of
it) with a tag of ray.version, unless ray.customImage says the image was built with it.
Usage: image: {{ include "ray-llm.image" . | quote }}
*/}}
{{- define "ray-llm.image" -}}
{{- $img := .Values.image -}}
{{- $tag := toString ($img.tag | default .Chart.AppVersion) -}}
{{- $ver := .Values.ray.version -}}
{{- if not .Values.ray.customImage -}}
{{- if not (regexMatch "(^|/)ray-llm$" $img.repository) -}}
{{- fail (printf "image.repository: %s does not carry Ray Serve LLM (ray.serve.llm, build_openai_app) and its vLLM; use rayproject/ray-llm (tag %s-py312-cu130 for Ray %s), or set ray.customImage: true for an image with ray[serve,llm]==%s installed" $img.repository $ver $ver $ver) -}}
{{- end -}}
{{- if not (regexMatch (printf "^%s-py3[0-9]+-(cu[0-9]+|gpu)$" (regexQuoteMeta $ver)) $tag) -}}
{{- fail (printf "image.tag: %q is not a ray-llm GPU tag of ray.version %s; ray-llm tags are <ray version>-py3xx-cuXXX, e.g. %s-py312-cu130 (keep image.tag and ray.version in step)" $tag $ver $ver) -}}
{{- end -}}
{{- end -}}
{{- include "llm-common.images.image" (dict "context" . "image" $img) -}}
{{- end -}}

{{/*
ray-llm.rayStartParams: the group's rayStartParams as a YAML map, every value a string. The chart renders the
parameters that ports, probes and GPUs depend on; the group's rayStartParams value adds the rest, and may not set
those (llm-common.args.refuseOwned).
Usage: rayStartParams: {{- include "ray-llm.rayStartParams" (dict "root" . "group" "worker") | nindent 2 }}
*/}}
{{- define "ray-llm.rayStartParams" -}}
{{- $ctx := dict -}}
{{- include "ray-llm.groupContext" (dict "root" .root "group" .group "out" $ctx) -}}
{{- $g := get .root.Values .group -}}
{{- $given := $g.rayStartParams | default dict -}}
{{- $params := dict "metrics-export-port" "8080" "num-gpus" (include "llm-common.accelerator.count" (dict "context" $ctx)) -}}
{{- $owned := dict
  "metrics-export-port" "(chart: 8080, the metrics port the PodMonitor scrapes)"
  "labels" (printf "(KubeRay rejects a labels parameter; pod labels go in %s.podLabels)" .group)
  "num-gpus" (include "llm-common.context.field" (dict "context" $ctx "field" "accelerator.count"))
-}}
{{- if eq .group "head" -}}
{{- /* Probes and the dashboard Service reach the dashboard on the pod IP, not on localhost. */ -}}
{{- $_ := set $params "dashboard-host" "0.0.0.0" -}}
{{- $_ := set $owned "dashboard-host" "(chart: 0.0.0.0, so that probes and the dashboard Service reach it on the pod IP)" -}}
{{- range $k := list "port" "dashboard-port" "ray-client-server-port" -}}
{{- $_ := set $owned $k "(chart: Ray's default, the head's declared container port)" -}}
{{- end -}}
{{- /* No tasks or actors on the head: model replicas and the OpenAI ingress run on the workers. */ -}}
{{- if not (hasKey $given "num-cpus") -}}
{{- $_ := set $params "num-cpus" "0" -}}
{{- end -}}
{{- else -}}
{{- $_ := set $owned "dashboard-agent-listen-port" "(chart: Ray's default 52365, the probes' dashboard-agent port)" -}}
{{- $_ := set $owned "object-store-memory" "worker.objectStoreMemory" -}}
{{- with $g.objectStoreMemory -}}
{{- $_ := set $params "object-store-memory" (include "llm-common.quantity.bytes" (dict "context" $ctx "value" . "field" "objectStoreMemory")) -}}
{{- end -}}
{{- /* Without a CPU limit, Ray would count every CPU of the node; advertise the request instead. */ -}}
{{- $cpu := toString ((($g.resources | default dict).requests | default dict).cpu | default "") -}}
{{- $cpuLimit := ((($g.resources | default dict).limits | default dict).cpu) -}}
{{- if and (regexMatch "^[0-9]+$" $cpu) (not $cpuLimit) (not (hasKey $given "num-cpus")) -}}
{{- $_ := set $params "num-cpus" $cpu -}}
{{- end -}}
{{- end -}}
{{- include "llm-common.args.refuseOwned" (dict "context" $ctx "field" "rayStartParams" "given" $given "owned" $owned) -}}
{{- range $k, $v := $given -}}
{{- $_ := set $params $k (include "ray-llm.str" $v) -}}
{{- end -}}
{{- toYaml $params -}}
{{- end -}}

{{/*
ray-llm.podTemplate: the pod template of one Ray group ("head" or "worker"). KubeRay adds the `ray start` command,
its environment and (when none is mounted) a /dev/shm volume; everything else is here.
Usage: template: {{- include "ray-llm.podTemplate" (dict "root" . "group" "worker") | nindent 2 }}
*/}}
{{- define "ray-llm.podTemplate" -}}
{{- $root := .root -}}
{{- $group := .group -}}
{{- $ctx := dict -}}
{{- include "ray-llm.groupContext" (dict "root" $root "group" $group "out" $ctx) -}}
{{- $head := eq $group "head" -}}
{{- /* The autoscaler sidecar in the head pod scales worker groups through the Kubernetes API; nothing else needs it. */ -}}
{{- $automount := or (and $head ($root.Values.ray.autoscaler.enabled | default false)) ($root.Values.serviceAccount.automountToken | default false) -}}
{{- /* A bare RayCluster gets the serve config as a file on the head, for `serve deploy`. */ -}}
{{- $serveConfig := and $head (eq $root.Values.kind "RayCluster") -}}
{{- $volumes := ternary (list "shm") (list "models" "shm") $head -}}
{{- $mounts := $volumes -}}
{{- if $serveConfig -}}
{{- $volumes = append $volumes (dict "name" "serve-config" "configMap" (dict "name" (include "llm-common.names.componentFullname" (dict "context" $root "component" "serve-config")))) -}}
{{- $mounts = append $mounts (dict "name" "serve-config" "mountPath" "/home/ray/serve-config" "readOnly" true) -}}
{{- end -}}
metadata:
  {{- include "llm-common.workload.podMetadata" (dict "context" $ctx "component" (ternary "head" "engine" $head)
        "annotations" (dict "llm-charts.io/served-model-name" $root.Values.model.id)) | nindent 2 }}
spec:
  {{- include "llm-common.workload.podSpecFields" (dict "context" $ctx "automountToken" $automount "volumes" $volumes) | nindent 2 }}
  containers:
    # KubeRay treats the first container as the Ray container.
    - name: {{ ternary "ray-head" "ray-worker" $head }}
      image: {{ include "ray-llm.image" $root | quote }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      env:
        # No usage reports from a cluster that serves private models.
        - name: RAY_USAGE_STATS_ENABLED
          value: "0"
        - name: VLLM_NO_USAGE_STATS
          value: "1"
        {{- if $head }}
        {{- /* The head builds the app (build_openai_app) and may read the model's config from the Hub. */ -}}
        {{- $tok := include "llm-common.storage.hfTokenRef" (dict "context" $ctx) | fromJson }}
        {{- if $tok.name }}
        {{- include "llm-common.env.secretRef" (dict "context" $ctx "name" "HF_TOKEN" "secret" $tok.name "key" $tok.key) | nindent 8 }}
        {{- end }}
        {{- else }}
        {{- include "llm-common.storage.env" (dict "context" $ctx) | nindent 8 }}
        {{- end }}
        {{- $src := include "ray-llm.source" $root | fromJson }}
        {{- if eq (toString $src.load) "external" }}
        {{- include "llm-common.source.storeEnv" (dict "context" $ctx "source" $src) | nindent 8 }}
        {{- end }}
        {{- if $src.offline }}
        {{- include "llm-common.source.env" (dict "context" $ctx "source" $src) | nindent 8 }}
        {{- end }}
        {{- include "llm-common.env.extraEnv" (dict "context" $ctx) | nindent 8 }}
      ports:
        {{- if $head }}
        - name: gcs-server
          containerPort: 6379
          protocol: TCP
        - name: dashboard
          containerPort: 8265
          protocol: TCP
        - name: client
          containerPort: 10001
          protocol: TCP
        {{- else }}
        # The dashboard agent answers the raylet health check the probes use.
        - name: dashboard-agent
          containerPort: 52365
          protocol: TCP
        {{- end }}
        # Ray Serve's HTTP proxy (KubeRay's serve Service needs this port on the head too).
        - name: serve
          containerPort: {{ int $root.Values.serve.port }}
          protocol: TCP
        # Ray's metrics agent: Ray, Serve and vLLM series.
        - name: metrics
          containerPort: 8080
          protocol: TCP
      {{- include "llm-common.workload.containerTail" (dict "context" $ctx "volumeMounts" $mounts) | nindent 6 }}
{{- end -}}

{{/*
ray-llm.clusterSpec: the RayClusterSpec (RayCluster spec, or RayService rayClusterConfig). Only fields that both
KubeRay v1.3 and v1.7 know: rayStartParams on every group (required up to v1.3), no group-level resources/labels.
Usage: {{- include "ray-llm.clusterSpec" . | nindent 2 }}
*/}}
{{- define "ray-llm.clusterSpec" -}}
{{- $w := .Values.worker -}}
{{- $as := .Values.ray.autoscaler -}}
rayVersion: {{ .Values.ray.version | quote }}
enableInTreeAutoscaling: {{ $as.enabled | default false }}
{{- if $as.enabled }}
autoscalerOptions:
  idleTimeoutSeconds: {{ int $as.idleTimeoutSeconds }}
  upscalingMode: {{ $as.upscalingMode }}
  {{- with $as.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.containerSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
headGroupSpec:
  serviceType: {{ .Values.head.serviceType }}
  rayStartParams:
    {{- include "ray-llm.rayStartParams" (dict "root" . "group" "head") | nindent 4 }}
  template:
    {{- include "ray-llm.podTemplate" (dict "root" . "group" "head") | nindent 4 }}
workerGroupSpecs:
  - groupName: {{ $w.groupName }}
    {{- if not $as.enabled }}
    replicas: {{ int $w.replicas }}
    {{- end }}
    minReplicas: {{ int $w.minReplicas }}
    maxReplicas: {{ int $w.maxReplicas }}
    rayStartParams:
      {{- include "ray-llm.rayStartParams" (dict "root" . "group" "worker") | nindent 6 }}
    template:
      {{- include "ray-llm.podTemplate" (dict "root" . "group" "worker") | nindent 6 }}
{{- end -}}

{{/*
ray-llm.validate: cross-field rules that a schema cannot express. Each failure names the value to change.
Usage: {{- include "ray-llm.validate" . -}}
*/}}
{{- define "ray-llm.validate" -}}
{{- $v := .Values -}}
{{- if not $v.model.id -}}
{{- fail "model.id is required: the name clients send as \"model\" (e.g. llama-3-70b-instruct); set model.source to the Hugging Face repo (e.g. meta-llama/Meta-Llama-3-70B-Instruct) or a path under modelStorage.mountPath" -}}
{{- end -}}
{{- if semverCompare "<2.43.0-0" $v.ray.version -}}
{{- fail (printf "ray.version: %s has no Ray Serve LLM (ray.serve.llm:build_openai_app arrived in Ray 2.43.0); use the chart's %s" $v.ray.version (.Chart.AppVersion | splitList "-" | first)) -}}
{{- end -}}
{{- $_ := include "ray-llm.image" . -}}
{{- $w := $v.worker -}}
{{- $e := $v.engine -}}
{{- $tp := int $e.tensorParallelSize -}}
{{- $pp := int $e.pipelineParallelSize -}}
{{- $need := include "llm-common.vllm.gpusPerReplica" (dict "context" .) | int -}}
{{- /* Worker GPUs: Ray Serve LLM reserves {GPU: 1} bundles; a worker group without GPUs never gets a replica. */ -}}
{{- if eq $w.accelerator.type "cpu" -}}
{{- fail (printf "worker.accelerator.type: cpu, but Ray Serve LLM places each model replica in %d one-GPU bundles (engine.tensorParallelSize x engine.pipelineParallelSize): set worker.accelerator.type: nvidia (or amd) and worker.accelerator.count" $need) -}}
{{- end -}}
{{- if lt (int $w.accelerator.count) 1 -}}
{{- fail (printf "worker.accelerator.count: %d GPUs per worker pod, but engine.tensorParallelSize x engine.pipelineParallelSize = %d GPUs per model replica%s: set worker.accelerator.count to the GPUs of one node (at least %d)" (int $w.accelerator.count) $need (ternary (printf " on %s GPUs (llm.acceleratorType)" $v.llm.acceleratorType) "" (ne $v.llm.acceleratorType "")) $tp) -}}
{{- end -}}
{{- if gt $tp (int $w.accelerator.count) -}}
{{- fail (printf "engine.tensorParallelSize (%d) exceeds the GPUs per worker pod, worker.accelerator.count (%d): tensor parallelism must stay within one node; lower it to %d and split the rest with engine.pipelineParallelSize, or use nodes with more GPUs" $tp (int $w.accelerator.count) (int $w.accelerator.count)) -}}
{{- end -}}
{{- if or (lt (int $w.replicas) (int $w.minReplicas)) (gt (int $w.replicas) (int $w.maxReplicas)) -}}
{{- fail (printf "worker.replicas (%d) must be between worker.minReplicas (%d) and worker.maxReplicas (%d)" (int $w.replicas) (int $w.minReplicas) (int $w.maxReplicas)) -}}
{{- end -}}
{{- $auto := $v.ray.autoscaler.enabled | default false -}}
{{- $cap := include "ray-llm.workerCapacity" . | int -}}
{{- $podsField := ternary "worker.maxReplicas" "worker.replicas" $auto -}}
{{- $pods := ternary (int $w.maxReplicas) (int $w.replicas) $auto -}}
{{- if gt $need $cap -}}
{{- fail (printf "engine.tensorParallelSize x engine.pipelineParallelSize = %d GPUs per model replica do not fit in the worker group: %s (%d) x worker.accelerator.count (%d) = %d GPUs; set %s to at least %d, or lower the parallel sizes" $need $podsField $pods (int $w.accelerator.count) $cap $podsField (div (add $need (int $w.accelerator.count) -1) (int $w.accelerator.count))) -}}
{{- end -}}
{{- $as := $v.llm.deployment.autoscaling -}}
{{- if gt (int $as.minReplicas) (int $as.maxReplicas) -}}
{{- fail (printf "llm.deployment.autoscaling.minReplicas (%d) is above llm.deployment.autoscaling.maxReplicas (%d)" (int $as.minReplicas) (int $as.maxReplicas)) -}}
{{- end -}}
{{- if not (kindIs "invalid" $as.initialReplicas) -}}
{{- if or (lt (int $as.initialReplicas) (int $as.minReplicas)) (gt (int $as.initialReplicas) (int $as.maxReplicas)) -}}
{{- fail (printf "llm.deployment.autoscaling.initialReplicas (%d) must be between minReplicas (%d) and maxReplicas (%d)" (int $as.initialReplicas) (int $as.minReplicas) (int $as.maxReplicas)) -}}
{{- end -}}
{{- end -}}
{{- if gt (mul (int $as.maxReplicas) $need) $cap -}}
{{- fail (printf "llm.deployment.autoscaling.maxReplicas (%d) x %d GPUs per model replica = %d GPUs, more than the worker group's %d (%s %d x worker.accelerator.count %d): replicas beyond it would stay pending; lower maxReplicas to %d or grow %s" (int $as.maxReplicas) $need (mul (int $as.maxReplicas) $need) $cap $podsField $pods (int $w.accelerator.count) (div $cap $need) $podsField) -}}
{{- end -}}
{{- /* accelerator_type adds an "accelerator_type:<X>" resource to every bundle; nodes of another GPU never have it. */ -}}
{{- with $v.llm.acceleratorType -}}
{{- $type := $w.accelerator.type -}}
{{- if and (eq $type "nvidia") (hasPrefix "AMD-" .) -}}
{{- fail (printf "llm.acceleratorType: %s is an AMD GPU but worker.accelerator.type is nvidia" .) -}}
{{- end -}}
{{- if and (eq $type "amd") (not (hasPrefix "AMD-" .)) -}}
{{- fail (printf "llm.acceleratorType: %s is not an AMD GPU but worker.accelerator.type is amd" .) -}}
{{- end -}}
{{- $product := $w.accelerator.product | default ($v.global.gpuProduct | default "") -}}
{{- $base := regexReplaceAll "-(40|80)G$" . "" -}}
{{- if and (eq $type "nvidia") $product (not (regexMatch (printf "(?i)(^|[-_])%s([-_]|$)" (regexQuoteMeta $base)) $product)) -}}
{{- fail (printf "llm.acceleratorType: %s does not match worker.accelerator.product %s: Ray would wait forever for %s GPUs on those nodes; make them name the same GPU" . $product .) -}}
{{- end -}}
{{- end -}}
{{- /* Model weights: a path needs a volume; a chart-created PVC shared by several pods must allow it. */ -}}
{{- $s := $v.modelStorage -}}
{{- $_ := include "ray-llm.source" . -}}
{{- if and (kindIs "string" $v.model.source) (hasPrefix "/" ($v.model.source | default "")) (eq $s.type "none") -}}
{{- fail (printf "model.source: %s is a path but modelStorage.type is none: mount the weights (modelStorage.type existingClaim, pvc or hostPath) or use a Hugging Face repo id" $v.model.source) -}}
{{- end -}}
{{- if and (eq $s.type "pvc") (gt (int $w.maxReplicas) 1) -}}
{{- $modes := ($s.pvc | default dict).accessModes | default (list "ReadWriteOnce") -}}
{{- if not (or (has "ReadWriteMany" $modes) (has "ReadOnlyMany" $modes)) -}}
{{- fail (printf "modelStorage.pvc.accessModes: %s cannot be mounted by up to %d worker pods on different nodes; use ReadWriteMany (or ReadOnlyMany for pre-filled weights), or modelStorage.type emptyDir" (join "," $modes) (int $w.maxReplicas)) -}}
{{- end -}}
{{- end -}}
{{- if has (int $v.serve.port) (list 6379 8080 8265 10001 52365) -}}
{{- fail (printf "serve.port: %d is taken by Ray (6379 GCS, 8080 metrics, 8265 dashboard, 10001 client, 52365 dashboard agent); use another port, e.g. 8000" (int $v.serve.port)) -}}
{{- end -}}
{{- $hctx := dict -}}
{{- include "ray-llm.groupContext" (dict "root" . "group" "head" "out" $hctx) -}}
{{- include "llm-common.shm.validate" (dict "context" $hctx) -}}
{{- $wctx := dict -}}
{{- include "ray-llm.groupContext" (dict "root" . "group" "worker" "out" $wctx) -}}
{{- include "llm-common.shm.validate" (dict "context" $wctx) -}}
{{- include "llm-common.sizing.validate" (dict "context" $wctx "engineContext" . "profile" $v.model.profile "profileField" "model.profile") -}}
{{- with $w.objectStoreMemory -}}
{{- $osm := include "llm-common.quantity.bytes" (dict "context" $wctx "value" . "field" "objectStoreMemory") | float64 -}}
{{- if include "llm-common.shm.enabled" (dict "context" $wctx) -}}
{{- $shm := include "llm-common.quantity.bytes" (dict "context" $wctx "value" $w.shm.sizeLimit "field" "shm.sizeLimit") | float64 -}}
{{- if ge $osm $shm -}}
{{- fail (printf "worker.objectStoreMemory: %s does not fit in worker.shm.sizeLimit (%s): Ray would put the object store on disk (/tmp); lower it or raise the shm size" (toString .) (toString $w.shm.sizeLimit)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
ray-llm.gatewayBackends: JSON list of what this release serves, for a gateway in front of it (the llm-stack
umbrella calls it with (index .Subcharts "ray-llm")), in the shape llm-stack.backends documents: the model id of
the Serve LLM app behind the chart's OpenAI Service, as one worker at the Service URL (Ray Serve's proxies balance
the model's replicas themselves).
Usage: {{- $backends := include "ray-llm.gatewayBackends" (index .Subcharts "ray-llm") | fromJsonArray -}}
*/}}
{{- define "ray-llm.gatewayBackends" -}}
{{- $ns := include "llm-common.names.namespace" (dict "context" .) -}}
{{- list (dict "names" (list (dict "name" .Values.model.id "field" "model.id")) "discovery" "url"
      "url" (printf "http://%s.%s.svc:%d" (include "llm-common.names.fullname" (dict "context" .)) $ns (int .Values.service.port))
      "pathPrefix" "" "apiKey" nil) | toJson -}}
{{- end -}}
