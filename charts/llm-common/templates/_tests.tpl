{{/*
`helm test` hooks shared by the engine charts.
*/}}

{{/*
llm-common.tests.openaiPod: a `helm test` Pod that checks an OpenAI-compatible endpoint the way a client would:
GET <basePath>/models must list the served model, and one POST <basePath>/completions (and, with "chat",
one POST <basePath>/chat/completions) must return choices. When the chart sets an API key, the key is read from
its Secret (never a literal) and sent as "Authorization: Bearer ..."; the pod then also checks that a request
without the key is refused (401), so a key that is set but not enforced fails the test.
`ct install` runs it after every install; `helm test <release>` runs it by hand.

Parameters (a dict):
  context      the chart's context (required)
  service      Service name to call (required)
  port         Service port (required)
  model        the name clients send as "model" (required)
  apiKey       {secretName, secretKey}: the chart's API-key Secret; empty secretName = no key
  basePath     path prefix of the OpenAI routes (default /v1; KServe's runtimes serve /openai/v1)
  completion   POST <basePath>/completions (default true; false for engines without the legacy route)
  chat         also POST <basePath>/chat/completions (default false; needs a model with a chat template)
  component    app.kubernetes.io/component of the pod (default test)
  name         the pod's name (default <fullname>-test-openai; charts with several endpoints name one per endpoint)
  image        {registry, repository, tag} of an image with sh and curl (default docker.io/curlimages/curl:8.16.0,
               pinned by tag; global.imageRegistry still applies, for air-gapped mirrors)
  timeoutSeconds  limit for one generation request (default 300: CPU engines are slow)
  podSecurityContext  the security context of the pods the test pod follows on runAsUser (default the context's
               podSecurityContext): without a runAsUser there (OpenShift), the test pod sets none either

Usage: in charts/<engine>/templates/tests/test-openai.yaml. Helm renders templates/tests/ before templates/, so
include the chart's own validation first, or a missing value fails here instead of with the chart's message:
  {{- include "<chart>.validate" . -}}
  {{ include "llm-common.tests.openaiPod" (dict "context" . "service" (include "llm-common.names.fullname" (dict "context" .)) "port" .Values.service.port "model" .Values.model.servedModelName "apiKey" .Values.apiKey) }}
*/}}
{{- define "llm-common.tests.openaiPod" -}}
{{- $ctx := .context -}}
{{- $ns := include "llm-common.names.namespace" (dict "context" $ctx) -}}
{{- $model := required "llm-common.tests.openaiPod: model (the served model name) is required" .model | toString -}}
{{- $service := required "llm-common.tests.openaiPod: service is required" .service -}}
{{- $port := required "llm-common.tests.openaiPod: port is required" .port | int -}}
{{- $base := .basePath | default "/v1" | trimSuffix "/" -}}
{{- $key := .apiKey | default dict -}}
{{- $img := .image | default (dict "registry" "docker.io" "repository" "curlimages/curl" "tag" "8.16.0") -}}
{{- $timeout := int (.timeoutSeconds | default 300) -}}
{{- $component := .component | default "test" -}}
{{- $routes := list -}}
{{- if or (not (kindIs "bool" .completion)) .completion -}}{{- $routes = append $routes "completions" -}}{{- end -}}
{{- if and (kindIs "bool" .chat) .chat -}}{{- $routes = append $routes "chat/completions" -}}{{- end -}}
apiVersion: v1
kind: Pod
metadata:
  {{- /* A failed test pod is kept for `kubectl logs`; the next `helm test` replaces it. */}}
  {{- include "llm-common.names.metadata" (dict "context" $ctx "component" $component
        "name" (.name | default (include "llm-common.names.componentFullname" (dict "context" $ctx "component" "test-openai")))
        "annotations" (dict "helm.sh/hook" "test" "helm.sh/hook-delete-policy" "before-hook-creation,hook-succeeded")) | nindent 2 }}
spec:
  restartPolicy: Never
  {{- /* A curl pod: no ServiceAccount, drain or scheduling of the chart's; its own security context below. */}}
  {{- include "llm-common.workload.podSpecFields" (dict "context" $ctx "automountToken" false
        "omit" (list "serviceAccountName" "terminationGracePeriodSeconds" "securityContext" "scheduling" "initContainers" "extraVolumes")) | nindent 2 }}
  {{- /* "podSecurityContext" names the pods the test pod follows when they are not the context's (the gateway's). */}}
  {{- $psc := .podSecurityContext | default $ctx.Values.podSecurityContext }}
  {{- $pod := ternary $psc (dict) (kindIs "map" $psc) }}
  securityContext:
    runAsNonRoot: true
    {{- /* The release's own user and group when they are 10000 or more, else 10001: curl needs no passwd entry and
    writes nothing, so any non-root id serves. Where the chart's pods leave the user to the platform
    (podSecurityContext.runAsUser: null, as OpenShift's restricted SCC assigns one from the namespace's range), so
    does the test pod. */}}
    {{- if or (not (kindIs "map" $psc)) (hasKey $psc "runAsUser") }}
    {{- $uid := int ($pod.runAsUser | default 10001) }}
    {{- $gid := int ($pod.runAsGroup | default 10001) }}
    runAsUser: {{ ternary $uid 10001 (ge $uid 10000) }}
    runAsGroup: {{ ternary $gid 10001 (ge $gid 10000) }}
    {{- end }}
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: openai
      image: {{ include "llm-common.images.image" (dict "context" $ctx "image" $img) | quote }}
      imagePullPolicy: IfNotPresent
      command: ["/bin/sh", "-ec"]
      args:
        - |
          # The service DNS name works under any cluster domain: <svc>.<namespace>.svc is found through the search path.
          hdr="X-Helm-Test: openai"
          if [ -n "${OPENAI_API_KEY:-}" ]; then hdr="Authorization: Bearer ${OPENAI_API_KEY}"; fi
          echo "GET ${BASE_URL}/models"
          # Retries: the Service may still be adding the pod's endpoint right after `helm install --wait`.
          if ! models=$(curl -sS --fail-with-body --retry 10 --retry-delay 3 --retry-all-errors --max-time 30 -H "$hdr" "${BASE_URL}/models"); then
            echo "FAIL: GET ${BASE_URL}/models: ${models}"; exit 1
          fi
          echo "$models"
          case "$models" in
            *"\"id\":\"${MODEL}\""*|*"\"id\": \"${MODEL}\""*) echo "PASS: /models lists ${MODEL}" ;;
            *) echo "FAIL: /models does not list ${MODEL}"; exit 1 ;;
          esac
          if [ -n "${OPENAI_API_KEY:-}" ]; then
            code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 30 "${BASE_URL}/models")
            if [ "$code" != 401 ]; then echo "FAIL: /models without the API key answered ${code}, not 401"; exit 1; fi
            echo "PASS: requests without the API key are refused (401)"
          fi
          for route in ${ROUTES}; do
            case "$route" in completions) body="$COMPLETION_BODY" ;; *) body="$CHAT_BODY" ;; esac
            echo "POST ${BASE_URL}/${route}"
            if ! out=$(curl -sS --fail-with-body --max-time "${TIMEOUT}" -H "$hdr" -H 'Content-Type: application/json' -d "$body" "${BASE_URL}/${route}"); then
              echo "FAIL: POST ${BASE_URL}/${route}: ${out}"; exit 1
            fi
            echo "$out"
            case "$out" in
              *'"choices"'*) echo "PASS: /${route} returned choices" ;;
              *) echo "FAIL: /${route} returned no choices"; exit 1 ;;
            esac
          done
      env:
        - name: BASE_URL
          value: {{ printf "http://%s.%s.svc:%d%s" $service $ns $port $base | quote }}
        - name: MODEL
          value: {{ $model | quote }}
        - name: ROUTES
          value: {{ join " " $routes | quote }}
        {{- if has "completions" $routes }}
        - name: COMPLETION_BODY
          value: {{ dict "model" $model "prompt" "Say hello." "max_tokens" 8 "temperature" 0 | toJson | quote }}
        {{- end }}
        {{- if has "chat/completions" $routes }}
        - name: CHAT_BODY
          value: {{ dict "model" $model "messages" (list (dict "role" "user" "content" "Say hello.")) "max_tokens" 8 "temperature" 0 | toJson | quote }}
        {{- end }}
        - name: TIMEOUT
          value: {{ $timeout | quote }}
        {{- if $key.secretName }}
        {{- include "llm-common.env.secretRef" (dict "context" $ctx "name" "OPENAI_API_KEY" "secret" $key.secretName "key" ($key.secretKey | default "api-key")) | nindent 8 }}
        {{- end }}
      resources:
        requests:
          cpu: 10m
          memory: 16Mi
        limits:
          memory: 64Mi
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities:
          drop:
            - ALL
{{- end -}}
