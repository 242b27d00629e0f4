{{/*
Workloads: what every pod of the suite shares (the engine Deployments, KServe's runtime and predictors, the
LLMInferenceService, the Ray groups, the gateway, the `helm test` pods), so that each rule lives here once: pod fields
(llm-common.workload.podSpecFields), a container's tail (llm-common.workload.containerTail), graceful drain, security
contexts, rollout strategy, scheduling, volumes, the ServiceAccount, and a whole Deployment built from them.
*/}}

{{/*
llm-common.workload.podSecurityContext: the pod's "securityContext:" key from .Values.podSecurityContext, as given
(schemas/security.schema.yaml sets non-root, RuntimeDefault seccomp by default), or nothing.
Usage: {{- include "llm-common.workload.podSecurityContext" (dict "context" .) | nindent 6 }}
*/}}
{{- define "llm-common.workload.podSecurityContext" -}}
{{- with .context.Values.podSecurityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end -}}
{{- end -}}

{{/*
llm-common.workload.containerSecurityContext: a container's "securityContext:" key from
.Values.containerSecurityContext, as given (by default: no privilege escalation, every capability dropped), or nothing.
Usage: {{- include "llm-common.workload.containerSecurityContext" (dict "context" .) | nindent 10 }}
*/}}
{{- define "llm-common.workload.containerSecurityContext" -}}
{{- with .context.Values.containerSecurityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end -}}
{{- end -}}

{{/*
llm-common.workload.lifecycle: the container's "lifecycle:" key (the preStop sleep of a graceful drain), or nothing
without one.

Graceful drain. On delete, Kubernetes sends SIGTERM while endpoint controllers, kube-proxy and gateways are
still removing the pod, so new requests keep arriving for a few seconds. The preStop sleep keeps the engine
serving until they stop (drain.preStopSleepSeconds); the engine then gets SIGTERM and finishes in-flight
requests (drain.inflightTimeoutSeconds, sized for the longest generation; engine charts pass it to the engine,
e.g. vLLM's --shutdown-timeout, without which vLLM aborts running streams on SIGTERM). The grace period is the
sum, after which the kubelet sends SIGKILL.
The sleep action needs no shell in the image (Kubernetes >= 1.30).
Usage: {{- include "llm-common.workload.lifecycle" (dict "context" .) | nindent 10 }}
*/}}
{{- define "llm-common.workload.lifecycle" -}}
{{- $drain := .context.Values.drain -}}
{{- if gt (int $drain.preStopSleepSeconds) 0 }}
lifecycle:
  preStop:
    sleep:
      seconds: {{ int $drain.preStopSleepSeconds }}
{{- end -}}
{{- end -}}

{{/*
llm-common.workload.terminationGracePeriodSeconds: the pod's grace period, preStop sleep + in-flight timeout (an
integer; see llm-common.workload.lifecycle).
Usage: terminationGracePeriodSeconds: {{ include "llm-common.workload.terminationGracePeriodSeconds" (dict "context" .) }}
*/}}
{{- define "llm-common.workload.terminationGracePeriodSeconds" -}}
{{- $drain := .context.Values.drain -}}
{{- add (int $drain.preStopSleepSeconds) (int $drain.inflightTimeoutSeconds) -}}
{{- end -}}

{{/*
llm-common.workload.strategy: the rollout strategy key. Default for GPU pods: replace one pod at a time without a
surge pod (maxSurge 0), because a surge pod needs spare GPUs a full node pool does not have and would sit Pending,
stalling the rollout. CPU pods surge as usual. .Values.updateStrategy, when set, is used as given.
Parameters: context, key (optional: the key to render it under, default "strategy"; KServe's is "deploymentStrategy")
Usage: {{- include "llm-common.workload.strategy" (dict "context" .) | nindent 2 }}
*/}}
{{- define "llm-common.workload.strategy" -}}
{{ .key | default "strategy" }}:
{{- if .context.Values.updateStrategy }}
  {{- toYaml .context.Values.updateStrategy | nindent 2 }}
{{- else if include "llm-common.accelerator.resourceName" (dict "context" .context) }}
  type: RollingUpdate
  rollingUpdate:
    maxSurge: 0
    maxUnavailable: 1
{{- else }}
  type: RollingUpdate
  rollingUpdate:
    maxSurge: 1
    maxUnavailable: 0
{{- end -}}
{{- end -}}

{{/*
llm-common.workload.scheduling: nodeSelector (with the GPU product), tolerations (with the GPU taint), affinity,
topologySpreadConstraints, priorityClassName and runtimeClassName of a pod spec; each key only when set.
Usage: {{- include "llm-common.workload.scheduling" (dict "context" .) | nindent 6 }}
*/}}
{{- define "llm-common.workload.scheduling" -}}
{{- $v := .context.Values -}}
{{- include "llm-common.accelerator.nodeSelector" (dict "context" .context) }}
{{- include "llm-common.accelerator.tolerations" (dict "context" .context) }}
{{- with $v.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with $v.runtimeClassName }}
runtimeClassName: {{ . }}
{{- end }}
{{- end -}}

{{/*
llm-common.workload.volumeList: a pod's "volumes:" or a container's "volumeMounts:" key, or nothing when the list is
empty. "items" lists them in order, each as given (a map), or "models" (the model volume: llm-common.storage.volume /
volumeMount) or "shm" (the memory-backed /dev/shm: llm-common.shm.volume / volumeMount), which render nothing when
not in use.
Parameters: context, key ("volumes" or "volumeMounts"), items
Usage: {{- include "llm-common.workload.volumeList" (dict "context" . "key" "volumes" "items" (list (dict "name" "home" "emptyDir" dict) "models" "shm")) | nindent 6 }}
*/}}
{{- define "llm-common.workload.volumeList" -}}
{{- $one := trimSuffix "s" .key -}}
{{- $out := "" -}}
{{- range .items -}}
{{- if has (toString .) (list "models" "shm") -}}
{{- $out = print $out (include (printf "llm-common.%s.%s" (ternary "storage" "shm" (eq (toString .) "models")) $one) (dict "context" $.context)) -}}
{{- else -}}
{{- $out = print $out "\n" (toYaml (list .)) -}}
{{- end -}}
{{- end -}}
{{- with $out }}
{{ $.key }}:
  {{- . | nindent 2 }}
{{- end -}}
{{- end -}}

{{/*
llm-common.workload.podSpecFields: the pod spec fields every pod of the suite sets the same way:
  enableServiceLinks: false      Service env vars would collide with engine settings (a Service named "vllm" injects
                                 VLLM_PORT, which vLLM reads as its own config; TGI's launcher and Ray read theirs from
                                 the environment too) and leak every Service of the namespace into the pod
  serviceAccountName             llm-common.names.serviceAccountName
  automountServiceAccountToken   serviceAccount.automountToken (default false: engines do not call the Kubernetes API)
  terminationGracePeriodSeconds  the drain budget (llm-common.workload.terminationGracePeriodSeconds)
  securityContext                podSecurityContext
  imagePullSecrets               global.imagePullSecrets and imagePullSecrets
  scheduling                     llm-common.workload.scheduling (GPU product and taint, affinity, spread, priority)
  volumes                        the "volumes" parameter (llm-common.workload.volumeList)
Parameters:
  context             the component context (required)
  serviceAccountName  optional: run as this ServiceAccount instead (a KServe model naming its own)
  automountToken      optional bool, instead of serviceAccount.automountToken (the Ray head's autoscaler calls the
                      API; the gateway mounts a projected token itself; a test pod never needs one)
  volumes             optional list of the pod's volumes (llm-common.workload.volumeList)
  omit                optional list of the fields above this pod leaves to another object or sets itself, e.g.
                      "imagePullSecrets" for a KServe predictor (the runtime carries them)
Usage: {{- include "llm-common.workload.podSpecFields" (dict "context" . "volumes" (list "models" "shm")) | nindent 6 }}
*/}}
{{- define "llm-common.workload.podSpecFields" -}}
{{- $ctx := .context -}}
{{- $omit := .omit | default list -}}
{{- if not (has "enableServiceLinks" $omit) }}
enableServiceLinks: false
{{- end }}
{{- if not (has "serviceAccountName" $omit) }}
serviceAccountName: {{ .serviceAccountName | default (include "llm-common.names.serviceAccountName" (dict "context" .context)) }}
{{- end }}
{{- if not (has "automountServiceAccountToken" $omit) }}
automountServiceAccountToken: {{ ternary .automountToken (($ctx.Values.serviceAccount | default dict).automountToken | default false) (kindIs "bool" .automountToken) }}
{{- end }}
{{- if not (has "terminationGracePeriodSeconds" $omit) }}
terminationGracePeriodSeconds: {{ include "llm-common.workload.terminationGracePeriodSeconds" (dict "context" .context) }}
{{- end }}
{{- if not (has "securityContext" $omit) }}
{{- include "llm-common.workload.podSecurityContext" (dict "context" .context) }}
{{- end }}
{{- if not (has "imagePullSecrets" $omit) }}
{{- include "llm-common.images.pullSecrets" (dict "context" .context) }}
{{- end }}
{{- if not (has "scheduling" $omit) }}
{{- include "llm-common.workload.scheduling" (dict "context" .context) }}
{{- end }}
{{- include "llm-common.workload.volumeList" (dict "context" $ctx "key" "volumes" "items" .volumes) }}
{{- end -}}

{{/*
llm-common.workload.containerTail: the fields that follow a container's command, args and env:
  ports            the "port" parameter as the container port named http, which the probes (probes.port) and the
                   Service (targetPort) name
  resources        .Values.resources with the GPUs of .Values.accelerator (llm-common.accelerator.resources), or the
                   "resources" parameter as given (a sidecar's own)
  probes           startupProbe, readinessProbe, livenessProbe (llm-common.probes.container)
  lifecycle        the preStop drain sleep (llm-common.workload.lifecycle)
  securityContext  containerSecurityContext
  volumeMounts     the "volumeMounts" parameter (llm-common.workload.volumeList)
Parameters:
  context       the component context (required)
  port          optional: the serving port (a container with other ports writes its own ports key)
  resources     optional map: the container's resources as given, instead of the GPU-aware default
  volumeMounts  optional list of the container's mounts (llm-common.workload.volumeList)
  omit          optional list of the fields above this container leaves out (its probes are its own, KServe merges
                them in from the runtime, ...)
Usage: {{- include "llm-common.workload.containerTail" (dict "context" . "port" .Values.containerPort "volumeMounts" (list "models" "shm")) | nindent 10 }}
*/}}
{{- define "llm-common.workload.containerTail" -}}
{{- $omit := .omit | default list -}}
{{- with .port }}
ports:
  - name: http
    containerPort: {{ int . }}
    protocol: TCP
{{- end }}
{{- if not (has "resources" $omit) }}
resources:
  {{- if hasKey . "resources" }}
  {{- toYaml .resources | nindent 2 }}
  {{- else }}
  {{- include "llm-common.accelerator.resources" (dict "context" .context) | nindent 2 }}
  {{- end }}
{{- end }}
{{- if not (has "probes" $omit) }}
{{- include "llm-common.probes.container" (dict "context" .context) }}
{{- end }}
{{- if not (has "lifecycle" $omit) }}
{{- include "llm-common.workload.lifecycle" (dict "context" .context) }}
{{- end }}
{{- if not (has "securityContext" $omit) }}
{{- include "llm-common.workload.containerSecurityContext" (dict "context" .context) }}
{{- end }}
{{- include "llm-common.workload.volumeList" (dict "context" .context "key" "volumeMounts" "items" .volumeMounts) }}
{{- end -}}

{{/*
llm-common.workload.podMetadata: a pod template's labels (the standard set and .Values.podLabels) and annotations
(.Values.podAnnotations, then the chart's own): the body of its "metadata:" key.
Parameters: context, component, annotations (optional map: the chart's own, e.g. the served model name)
Usage: metadata: {{- include "llm-common.workload.podMetadata" (dict "context" . "component" "engine") | nindent 4 }}
*/}}
{{- define "llm-common.workload.podMetadata" -}}
{{- $v := .context.Values }}
labels:
  {{- include "llm-common.labels.standard" (dict "context" .context "component" .component) | nindent 2 }}
  {{- with $v.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with (merge (deepCopy (.annotations | default dict)) ($v.podAnnotations | default dict)) }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end -}}
{{- end -}}

{{/*
llm-common.workload.deployment: an apps/v1 Deployment of one component: replicas (replicaCount, unless
autoscaling.enabled hands the count to an autoscaler), the rollout strategy (llm-common.workload.strategy), the pod's
metadata (llm-common.workload.podMetadata), its shared fields (llm-common.workload.podSpecFields) and the containers
the chart renders.
Parameters:
  context, component
  containers   the pod's containers: YAML list items (a container's own fields, then llm-common.workload.containerTail)
  name            optional: the Deployment's name (default: the fullname)
  annotations     optional: the chart's own pod annotations (llm-common.workload.podMetadata)
  initContainers  optional: the pod's init containers, YAML list items (e.g. llm-common.source.initContainers); their
                  time counts into progressDeadlineSeconds (llm-common.probes.progressDeadlineSeconds)
  volumes, automountToken, serviceAccountName, omit   passed to llm-common.workload.podSpecFields
Usage: {{ include "llm-common.workload.deployment" (dict "context" . "component" "engine" "containers" (include "vllm.container" .) "volumes" (list "models" "shm")) }}
*/}}
{{- define "llm-common.workload.deployment" -}}
{{- $ctx := .context -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  {{- include "llm-common.names.metadata" (dict "context" $ctx "component" .component "name" .name) | nindent 2 }}
spec:
  {{- if not ($ctx.Values.autoscaling | default dict).enabled }}
  replicas: {{ int $ctx.Values.replicaCount }}
  {{- end }}
  {{- with include "llm-common.probes.progressDeadlineSeconds" (dict "context" $ctx "prefetch" (not (empty .initContainers))) }}
  progressDeadlineSeconds: {{ . }}
  {{- end }}
  {{- include "llm-common.workload.strategy" (dict "context" $ctx) | nindent 2 }}
  selector:
    matchLabels:
      {{- include "llm-common.labels.matchLabels" (dict "context" $ctx "component" .component) | nindent 6 }}
  template:
    metadata:
      {{- include "llm-common.workload.podMetadata" (dict "context" $ctx "component" .component "annotations" .annotations) | nindent 6 }}
    spec:
      {{- include "llm-common.workload.podSpecFields" (dict "context" $ctx "volumes" .volumes "automountToken" .automountToken
            "serviceAccountName" .serviceAccountName "omit" .omit) | nindent 6 }}
      {{- with .initContainers }}
      initContainers:
        {{- . | nindent 8 }}
      {{- end }}
      containers:
        {{- .containers | nindent 8 }}
{{- end -}}

{{/*
llm-common.workload.serviceAccount: the ServiceAccount object, when serviceAccount.create. Engines need no Kubernetes
API access, so the token is not mounted unless serviceAccount.automountToken is true.
Parameters: context, secrets (optional list of Secret names the ServiceAccount lists, e.g. KServe's storage credentials)
Usage: {{ include "llm-common.workload.serviceAccount" (dict "context" .) }}
*/}}
{{- define "llm-common.workload.serviceAccount" -}}
{{- $v := .context.Values -}}
{{- if $v.serviceAccount.create -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  {{- include "llm-common.names.metadata" (dict "context" .context "name" (include "llm-common.names.serviceAccountName" (dict "context" .context)) "annotations" $v.serviceAccount.annotations) | nindent 2 }}
automountServiceAccountToken: {{ $v.serviceAccount.automountToken | default false }}
{{- with .secrets }}
secrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- end -}}
{{- end -}}
