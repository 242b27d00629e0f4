{{/*
GPU table: memory and vendor per GPU product, keyed by the node label value the cluster publishes for it
(nvidia.com/gpu.product from NVIDIA GPU Feature Discovery, amd.com/gpu.product-name from the AMD node
labeller). The one home of these numbers: the planner (src/llmcharts/plan.py, `llmcharts plan --gpu`) reads
this file and yaml-loads the define's body, and templates include it. Keep the body plain YAML (no template
actions inside it).

Fields of a row:
  vendor        nvidia | amd (the accelerator.type the charts use)
  memoryMiB     memory one device reports to the driver, in MiB: for NVIDIA the NVML total that GFD publishes as
                nvidia.com/gpu.memory and nvidia-smi prints (a little below the datasheet size: ECC and firmware
                reservations), for AMD the VRAM the labeller reports (amd.com/gpu.vram)
  datasheetGB   the marketed capacity, for people reading the table
  rayAcceleratorType  Ray's AcceleratorType constant for the product (ray-llm chart llm.acceleratorType)
  aliases       short names the planner's --gpu also accepts (each names one row)
GFD appends "-SHARED" when time-slicing or MPS is on and "-MIG-<profile>" for MIG devices; those labels are not
rows here (a shared or sliced device does not have the whole memory).

Sources (per block below): label spellings and memoryMiB values are GFD / nvidia-smi output seen on real
clusters in public repositories and docs (searched 2026-10): e.g. KubeAI's GPU docs (NVIDIA-H100-80GB-HBM3,
gpu.memory=81559), the GPU operator docs' L40S example (NVIDIA-L40S, 46068), AWS g5 nodes (NVIDIA-A10G, 23028),
GKE nodes (Tesla-T4, 15360; NVIDIA-L4, 23034); datasheet sizes are NVIDIA's and AMD's product pages.

Usage: {{- $gpus := include "llm-common.gpus.table" (dict "context" .) | fromYaml }}
       {{- $row := get $gpus .Values.accelerator.product }}   (an empty dict when the product is not listed)
*/}}
{{- define "llm-common.gpus.table" }}
# NVIDIA Ada / Ampere inference cards (24 GB class). nvidia-smi and GFD: L4 23034 MiB (GKE g2 nodes),
# A10G 23028 MiB (AWS g5 nodes); the A10 is the same GA102 board with 24 GB GDDR6 (NVIDIA A10 datasheet).
NVIDIA-L4:
  vendor: nvidia
  memoryMiB: 23034
  datasheetGB: 24
  rayAcceleratorType: L4
  aliases: [L4]
NVIDIA-A10G:
  vendor: nvidia
  memoryMiB: 23028
  datasheetGB: 24
  rayAcceleratorType: A10G
  aliases: [A10G]
NVIDIA-A10:
  vendor: nvidia
  memoryMiB: 23028
  datasheetGB: 24
  rayAcceleratorType: ""
  aliases: [A10]
# Turing T4: 16 GB GDDR6, 15360 MiB in GFD's gpu.memory on GKE; nvidia-smi names it "Tesla T4".
Tesla-T4:
  vendor: nvidia
  memoryMiB: 15360
  datasheetGB: 16
  rayAcceleratorType: T4
  aliases: [T4]
# 48 GB class: L40S 46068 MiB (GPU operator docs' example labels), RTX 6000 Ada 49140 MiB (nvidia-smi; GFD
# spells the product "NVIDIA-RTX-6000-Ada-Generation" from the NVML name "NVIDIA RTX 6000 Ada Generation").
NVIDIA-L40S:
  vendor: nvidia
  memoryMiB: 46068
  datasheetGB: 48
  rayAcceleratorType: L40S
  aliases: [L40S]
NVIDIA-RTX-6000-Ada-Generation:
  vendor: nvidia
  memoryMiB: 49140
  datasheetGB: 48
  rayAcceleratorType: ""
  aliases: [RTX-6000-Ada]
# A100: 40 GB boards report 40960 MiB, 80 GB boards 81920 MiB (nvidia-smi). GFD spellings from the NVML names:
# "NVIDIA A100-SXM4-40GB", "NVIDIA A100-PCIE-40GB", "NVIDIA A100-SXM4-80GB", "NVIDIA A100 80GB PCIe".
NVIDIA-A100-SXM4-40GB:
  vendor: nvidia
  memoryMiB: 40960
  datasheetGB: 40
  rayAcceleratorType: A100-40G
  aliases: [A100-40GB]
NVIDIA-A100-PCIE-40GB:
  vendor: nvidia
  memoryMiB: 40960
  datasheetGB: 40
  rayAcceleratorType: A100-40G
  aliases: []
NVIDIA-A100-SXM4-80GB:
  vendor: nvidia
  memoryMiB: 81920
  datasheetGB: 80
  rayAcceleratorType: A100-80G
  aliases: [A100, A100-80GB]
NVIDIA-A100-80GB-PCIe:
  vendor: nvidia
  memoryMiB: 81920
  datasheetGB: 80
  rayAcceleratorType: A100-80G
  aliases: []
# Hopper: H100 SXM ("NVIDIA H100 80GB HBM3") and PCIe report 81559 MiB in GFD (KubeAI docs; a public H100 PCIe
# node dump); H100 NVL 95830 MiB (94 GB, public GFD label dumps); H200 143771 MiB (nvidia-smi, 141 GB HBM3e);
# GH200 480GB superchip: 96 GB HBM3, 97871 MiB (KubeAI resource profile); the Grace LPDDR is not counted.
NVIDIA-H100-80GB-HBM3:
  vendor: nvidia
  memoryMiB: 81559
  datasheetGB: 80
  rayAcceleratorType: H100
  aliases: [H100, H100-SXM]
NVIDIA-H100-PCIe:
  vendor: nvidia
  memoryMiB: 81559
  datasheetGB: 80
  rayAcceleratorType: H100
  aliases: [H100-PCIe]
NVIDIA-H100-NVL:
  vendor: nvidia
  memoryMiB: 95830
  datasheetGB: 94
  rayAcceleratorType: H100
  aliases: [H100-NVL]
NVIDIA-H200:
  vendor: nvidia
  memoryMiB: 143771
  datasheetGB: 141
  rayAcceleratorType: H200
  aliases: [H200]
NVIDIA-GH200-480GB:
  vendor: nvidia
  memoryMiB: 97871
  datasheetGB: 96
  rayAcceleratorType: ""
  aliases: [GH200]
# Blackwell B200: 180 GB HBM3e (DGX B200: 1,440 GB for 8), 183359 MiB in nvidia-smi.
NVIDIA-B200:
  vendor: nvidia
  memoryMiB: 183359
  datasheetGB: 180
  rayAcceleratorType: B200
  aliases: [B200]
# AMD Instinct (amd.com/gpu.product-name, published by the AMD node labeller of ROCm/k8s-device-plugin; its
# docs/user-guide/installation.md, "Example labels for an AMD MI300X GPU": amd.com/gpu.product-name=
# AMD_Instinct_MI300X_OAM, amd.com/gpu.vram=192G). The short "MI300X" is an alias for the planner only: no node
# carries it (llm-common.gpus.validateProduct refuses it). MI250X: each of its two GCDs is a separate amd.com/gpu
# device with 64 GB of the module's 128 GB.
AMD_Instinct_MI300X_OAM:
  vendor: amd
  memoryMiB: 196608
  datasheetGB: 192
  rayAcceleratorType: AMD-Instinct-MI300X-OAM
  aliases: [MI300X, AMD_Instinct_MI300X]
AMD_Instinct_MI250X:
  vendor: amd
  memoryMiB: 65536
  datasheetGB: 64
  rayAcceleratorType: AMD-Instinct-MI250X
  aliases: [MI250X]
{{- end }}


{{/*
llm-common.gpus.validateProduct: fails when the GPU product a pod selects (accelerator.product, else
global.gpuProduct) is one of the GPU table's short aliases (MI300X, H100, L4) while the node label key is the
default one: nodes carry the full label value (amd.com/gpu.product-name=AMD_Instinct_MI300X_OAM,
nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3), so a pod selecting the alias would stay Pending forever. With a
custom accelerator.productLabel any value is taken as given.
Usage: {{- include "llm-common.gpus.validateProduct" (dict "context" .) -}}
*/}}
{{- define "llm-common.gpus.validateProduct" -}}
{{- $v := .context.Values -}}
{{- $acc := $v.accelerator | default dict -}}
{{- $product := $acc.product | default (($v.global | default dict).gpuProduct) | default "" -}}
{{- if and $product (not $acc.productLabel) -}}
{{- range $label, $row := include "llm-common.gpus.table" (dict "context" .context) | fromYaml -}}
{{- if has $product ($row.aliases | default list) -}}
{{- $field := include "llm-common.context.field" (dict "context" $.context "field" (ternary "accelerator.product" "global.gpuProduct" (not (empty $acc.product)))) -}}
{{- fail (printf "%s: %q is a short name, not a node label value: nodes carry %s=%s (the llm-common GPU table). Set %s: %s, or set %s to the label key your nodes use" $field $product (ternary "amd.com/gpu.product-name" "nvidia.com/gpu.product" (eq $row.vendor "amd")) $label $field $label (include "llm-common.context.field" (dict "context" $.context "field" "accelerator.productLabel"))) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
