{{- define "pgcheckpoint-hook.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* "<release>-<chart>" (or the release name when it contains the chart name); 52
characters leave room for the suffixes of the hook resources. */}}
{{- define "pgcheckpoint-hook.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "pgcheckpoint-hook.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "pgcheckpoint-hook.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pgcheckpoint-hook.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "pgcheckpoint-hook.labels" -}}
helm.sh/chart: {{ include "pgcheckpoint-hook.chart" . }}
{{ include "pgcheckpoint-hook.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: pre-deploy-checkpoint
app.kubernetes.io/part-of: pgcheckpoint
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Hook annotations; the argument is a dict with "ctx" (the root context) and "weight". */}}
{{- define "pgcheckpoint-hook.hookAnnotations" -}}
helm.sh/hook: {{ join "," .ctx.Values.hookEvents | quote }}
helm.sh/hook-weight: {{ .weight | quote }}
helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
{{- end }}

{{- define "pgcheckpoint-hook.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}

{{- define "pgcheckpoint-hook.database" -}}
{{- required "pgcheckpoint-hook: set `database` to the name of the Database resource to checkpoint" .Values.database }}
{{- end }}

{{/* The commit being deployed: commit, else global.commit, else the appVersion. */}}
{{- define "pgcheckpoint-hook.commit" -}}
{{- $global := .Values.global | default dict }}
{{- coalesce (.Values.commit | toString) ($global.commit | default "" | toString) (.Chart.AppVersion | toString) }}
{{- end }}

{{/*
The tag: "<tagPrefix>-<commit, 7 chars>-<UTC time of this helm operation>", lowercased;
anything but a-z, 0-9 and '-' becomes '-', runs of '-' collapse, at most 63 characters (a
valid object name and store path segment). Not the revision: uninstalling and installing a
release again starts the revision at 1, and tags are never reused.
*/}}
{{- define "pgcheckpoint-hook.tag" -}}
{{- $commit := include "pgcheckpoint-hook.commit" . | trunc 7 }}
{{- $when := dateInZone "20060102t150405" now "UTC" }}
{{- $tag := printf "%s-%s-%s" .Values.tagPrefix $commit $when | lower }}
{{- $tag = regexReplaceAll "[^a-z0-9-]+" $tag "-" }}
{{- $tag = regexReplaceAll "-{2,}" $tag "-" }}
{{- $tag | trunc 63 | trimAll "-" }}
{{- end }}

{{/* The timeout in seconds, from timeoutSeconds or timeout ("30m", "1h30m", "90s", "1800"). */}}
{{- define "pgcheckpoint-hook.timeoutSeconds" -}}
{{- $total := 0 }}
{{- $t := .Values.timeout | toString | trim }}
{{- if .Values.timeoutSeconds }}
{{- $total = int .Values.timeoutSeconds }}
{{- else if regexMatch "^[0-9]+$" $t }}
{{- $total = int $t }}
{{- else if and (ne $t "") (regexMatch "^([0-9]+h)?([0-9]+m)?([0-9]+s)?$" $t) }}
{{- range $part := regexFindAll "[0-9]+[hms]" $t -1 }}
{{- $n := int (regexFind "^[0-9]+" $part) }}
{{- if hasSuffix "h" $part }}{{ $n = mul $n 3600 }}{{ else if hasSuffix "m" $part }}{{ $n = mul $n 60 }}{{ end }}
{{- $total = add $total $n }}
{{- end }}
{{- else }}
{{- fail (printf "pgcheckpoint-hook: timeout %q is not a duration like 30m, 1h30m or 900s (or set timeoutSeconds)" $t) }}
{{- end }}
{{- if lt (int $total) 1 }}
{{- fail "pgcheckpoint-hook: the timeout must be at least 1 second" }}
{{- end }}
{{- $total }}
{{- end }}

{{/* The --timeout flag: timeout as written when it has units, else "<seconds>s". */}}
{{- define "pgcheckpoint-hook.timeoutFlag" -}}
{{- $t := .Values.timeout | toString | trim }}
{{- if or .Values.timeoutSeconds (regexMatch "^[0-9]+$" $t) }}
{{- printf "%ss" (include "pgcheckpoint-hook.timeoutSeconds" .) }}
{{- else }}
{{- $t }}
{{- end }}
{{- end }}
