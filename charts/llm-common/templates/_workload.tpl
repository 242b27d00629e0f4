{{/*
Pod-level pieces shared by engine workloads: security contexts, graceful drain, rollout strategy, scheduling.
*/}}

{{/*
llm-common.workload.podSecurityContext / containerSecurityContext: the values as given (schemas/security.schema.yaml
sets non-root, RuntimeDefault seccomp and drop ALL capabilities by default), rendered under their keys.
*/}}
{{- define "llm-common.workload.podSecurityContext" -}}
{{- with .Values.podSecurityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end -}}
{{- end -}}

{{- define "llm-common.workload.containerSecurityContext" -}}
{{- with .Values.containerSecurityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end -}}
{{- end -}}

{{/*
Graceful drain. On delete, Kubernetes sends SIGTERM while endpoint controllers, kube-proxy and gateways are
still removing the pod, so new requests keep arriving for a few seconds. The preStop sleep keeps the engine
serving until they stop (drain.preStopSleepSeconds); the engine then gets SIGTERM and finishes in-flight
requests (drain.inflightTimeoutSeconds, sized for the longest generation; engine charts pass it to the engine,
e.g. vLLM's --shutdown-timeout, without which vLLM aborts running streams on SIGTERM). The grace period is the
sum, after which the kubelet sends SIGKILL.
The sleep action needs no shell in the image (Kubernetes >= 1.30).

llm-common.workload.lifecycle: the container's "lifecycle:" key.
llm-common.workload.terminationGracePeriodSeconds: the pod's grace period (an integer).
*/}}
{{- define "llm-common.workload.lifecycle" -}}
{{- if gt (int .Values.drain.preStopSleepSeconds) 0 }}
lifecycle:
  preStop:
    sleep:
      seconds: {{ int .Values.drain.preStopSleepSeconds }}
{{- end -}}
{{- end -}}

{{- define "llm-common.workload.terminationGracePeriodSeconds" -}}
{{- add (int .Values.drain.preStopSleepSeconds) (int .Values.drain.inflightTimeoutSeconds) -}}
{{- end -}}

{{/*
llm-common.workload.strategy: the Deployment's "strategy:" key. Default for GPU pods: replace one pod at a time
without a surge pod (maxSurge 0), because a surge pod needs spare GPUs a full node pool does not have and would
sit Pending, stalling the rollout. CPU pods surge as usual. .Values.updateStrategy, when set, is used as given.
*/}}
{{- define "llm-common.workload.strategy" -}}
strategy:
{{- if .Values.updateStrategy }}
  {{- toYaml .Values.updateStrategy | nindent 2 }}
{{- else if include "llm-common.accelerator.resourceName" .Values.accelerator }}
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
topologySpreadConstraints, priorityClassName and runtimeClassName of a pod spec.
*/}}
{{- define "llm-common.workload.scheduling" -}}
{{- include "llm-common.accelerator.nodeSelector" . }}
{{- include "llm-common.accelerator.tolerations" . }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .Values.runtimeClassName }}
runtimeClassName: {{ . }}
{{- end }}
{{- end -}}
