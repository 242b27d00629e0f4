{{/*
Scratch: the writable emptyDirs of a container whose root filesystem is read-only (readOnlyRootFilesystem: true, the
default of every container of the suite). Each engine names the folders it writes ("dirs": name -> mount path), found
by running the real engine with a read-only root (the local runner enforces it, src/llmcharts/local/rootfs.py): /tmp
(Python's tempfile, torch's inductor and multiprocessing), and HOME, where torch.compile, Triton, vLLM, numba and
FlashInfer keep their caches. Weights and the Hub cache live on the model volume (HF_HOME), never here. Each emptyDir
has a size limit (scratch.<name>.sizeLimit): a runaway cache gets the pod evicted instead of filling the node's disk.
*/}}

{{/*
llm-common.scratch.volumes: the scratch emptyDirs as a YAML list of volumes (for llm-common.workload.volumeList), one
per entry of "dirs", sized by .Values.scratch.<name>.sizeLimit (no limit when that is empty).
Parameters: context, dirs (a map: volume name -> mount path)
Usage: {{- $volumes := include "llm-common.scratch.volumes" (dict "context" . "dirs" (dict "tmp" "/tmp")) | fromYamlArray -}}
*/}}
{{- define "llm-common.scratch.volumes" -}}
{{- $scratch := .context.Values.scratch | default dict -}}
{{- $out := list -}}
{{- range $name := keys .dirs | sortAlpha -}}
{{- $size := (get $scratch $name | default dict).sizeLimit -}}
{{- $out = append $out (dict "name" $name "emptyDir" (ternary (dict "sizeLimit" $size) dict (not (empty $size)))) -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/*
llm-common.scratch.volumeMounts: the container's mounts of the scratch emptyDirs, a YAML list (for
llm-common.workload.volumeList).
Parameters: context, dirs (the same map as llm-common.scratch.volumes)
Usage: {{- $mounts := include "llm-common.scratch.volumeMounts" (dict "context" . "dirs" (dict "tmp" "/tmp")) | fromYamlArray -}}
*/}}
{{- define "llm-common.scratch.volumeMounts" -}}
{{- $out := list -}}
{{- range $name := keys .dirs | sortAlpha -}}
{{- $out = append $out (dict "name" $name "mountPath" (get $.dirs $name)) -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}
