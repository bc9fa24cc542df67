{{/* Chart name, truncated to 63 characters (DNS label). */}}
{{- define "pgcheckpoint.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name: the release name alone when it already contains the
chart name, otherwise "<release>-<chart>".
*/}}
{{- define "pgcheckpoint.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "pgcheckpoint.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "pgcheckpoint.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pgcheckpoint.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "pgcheckpoint.labels" -}}
helm.sh/chart: {{ include "pgcheckpoint.chart" . }}
{{ include "pgcheckpoint.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: pgcheckpoint
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "pgcheckpoint.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "pgcheckpoint.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image reference, used for the operator container and handed to the operator
(PGCHECKPOINT_IMAGE) for its dump, drill and restore Jobs.
*/}}
{{- define "pgcheckpoint.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}
{{- end }}

{{/* Name of the leader-election Lease; the operator uses this fixed name. */}}
{{- define "pgcheckpoint.leaseName" -}}
pgcheckpoint-operator
{{- end }}

{{/*
Rules on the namespaced resources the operator reconciles, for the ClusterRole (all
namespaces) or each per-namespace Role: exactly what the code uses, nothing on Secrets. The
Jobs mount the Database's Secrets themselves; a missing one shows in the Job's pod.
*/}}
{{- define "pgcheckpoint.namespacedRules" -}}
- apiGroups: ["pgcheckpoint.io"]
  resources: ["databases", "checkpoints", "restores"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["pgcheckpoint.io"]
  resources: ["databases/status", "checkpoints/status", "restores/status"]
  verbs: ["patch"]
# Checkpoints: patch adds and removes the finalizer pgcheckpoint.io/delete-objects (deletionPolicy
# Delete only) and marks a Checkpoint whose objects a prune removed; delete removes such Checkpoints.
- apiGroups: ["pgcheckpoint.io"]
  resources: ["checkpoints"]
  verbs: ["patch", "delete"]
# The Jobs' owner references block their owner's deletion (blockOwnerDeletion), which clusters
# enforcing OwnerReferencesPermissionEnforcement allow only to who may update the owner's finalizers.
- apiGroups: ["pgcheckpoint.io"]
  resources: ["checkpoints/finalizers", "databases/finalizers", "restores/finalizers"]
  verbs: ["update"]
{{- if .Values.api.enabled }}
# The HTTP API creates Checkpoints for callers whose own token may (checked with SubjectAccessReview).
- apiGroups: ["pgcheckpoint.io"]
  resources: ["checkpoints"]
  verbs: ["create"]
{{- end }}
# The dump, drill, restore, cleanup and prune Jobs: created once; deleted only when they can never
# run (their pod cannot start or cannot be created) so that they cannot start later, or when their
# Checkpoint is deleted before they finished.
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "list", "watch", "create", "delete"]
# Job pods: their results (termination messages) and why they wait (a missing Secret, an image).
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list", "watch"]
# Events: the operator's own (get and patch count repeats) and the Job controller's FailedCreate.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["get", "list", "watch", "create", "patch"]
{{- end }}

{{/* Cluster-scoped rules for the HTTP API's bearer-token checks (TokenReview, SubjectAccessReview). */}}
{{- define "pgcheckpoint.authRules" -}}
- apiGroups: ["authentication.k8s.io"]
  resources: ["tokenreviews"]
  verbs: ["create"]
- apiGroups: ["authorization.k8s.io"]
  resources: ["subjectaccessreviews"]
  verbs: ["create"]
{{- end }}

{{/* A monitoring duration (a number and one of s, m, h, d, w, e.g. 30m or 7d) in seconds. */}}
{{- define "pgcheckpoint.seconds" -}}
{{- $d := toString . -}}
{{- if not (regexMatch "^[0-9]+[smhdw]$" $d) -}}
{{- fail (printf "monitoring durations are a number and one unit of s, m, h, d, w (e.g. 30m, 7d), not %q" $d) -}}
{{- end -}}
{{- $unit := regexFind "[smhdw]$" $d -}}
{{- mul (int (trimSuffix $unit $d)) (get (dict "s" 1 "m" 60 "h" 3600 "d" 86400 "w" 604800) $unit) -}}
{{- end }}

{{/*
Label matchers of an alert expression: monitoring.prometheusRule.seriesSelector plus .extra,
e.g. {job="pgcheckpoint",phase="Dumping"}; nothing when both are empty.
*/}}
{{- define "pgcheckpoint.series" -}}
{{- $m := compact (list .root.Values.monitoring.prometheusRule.seriesSelector .extra) | join "," -}}
{{- if $m }}{ {{- $m -}} }{{ end -}}
{{- end }}
