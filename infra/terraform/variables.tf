# Inputs. Every environment variable the service reads is described in
# DESIGN.md section 5; locals.tf turns these inputs into those variables.

variable "project" {
  description = "GCP project id (GOOGLE_CLOUD_PROJECT)."
  type        = string
}

variable "region" {
  description = "Region of the queues, the Cloud Run service, the registry and the bucket (LOCATION)."
  type        = string
  default     = "us-central1"
}

variable "image" {
  description = "Container image, e.g. us-central1-docker.pkg.dev/PROJECT/executor/executor:SHA. Push it before the first full apply (docs/deploy.md)."
  type        = string
}

variable "service_name" {
  description = "Cloud Run service name; part of the predictable URL used as SERVICE_URL."
  type        = string
  default     = "executor"

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,47}[a-z0-9])?$", var.service_name))
    error_message = "service_name: lowercase letters, digits and '-', at most 49 characters, starting with a letter."
  }
}

variable "tiers" {
  description = <<-EOT
    The retry chain, in order (CHAIN). One Cloud Tasks queue per tier.
    max_attempts counts the first attempt; -1 = unlimited (only the last tier,
    it never forwards). Backoffs are durations ending in "s". url: push URL of
    a separate executor serving that tier (default: this service's /tasks).
  EOT
  type = list(object({
    queue                     = string
    max_attempts              = number
    min_backoff               = optional(string, "10s")
    max_backoff               = optional(string, "300s")
    max_doublings             = optional(number, 4)
    max_dispatches_per_second = optional(number)
    max_concurrent_dispatches = optional(number)
    url                       = optional(string)
  }))
  default = [
    { queue = "incoming", max_attempts = 5, min_backoff = "10s", max_backoff = "300s", max_doublings = 4 },
    { queue = "incoming-2", max_attempts = 5, min_backoff = "60s", max_backoff = "1800s", max_doublings = 3, max_dispatches_per_second = 50 },
    { queue = "incoming-3", max_attempts = 10, min_backoff = "300s", max_backoff = "3600s", max_doublings = 2, max_dispatches_per_second = 10 },
  ]

  validation {
    condition     = length(var.tiers) > 0
    error_message = "tiers: at least one tier is needed."
  }
  validation {
    condition     = alltrue([for t in var.tiers : can(regex("^[A-Za-z0-9-]{1,100}$", t.queue))])
    error_message = "tiers[*].queue: a Cloud Tasks queue id is 1-100 of [A-Za-z0-9-]."
  }
  validation {
    condition     = length(distinct([for t in var.tiers : t.queue])) == length(var.tiers)
    error_message = "tiers[*].queue: queue names must be unique."
  }
  validation {
    condition = alltrue([
      for i, t in var.tiers :
      floor(t.max_attempts) == t.max_attempts && (t.max_attempts >= 1 || (t.max_attempts == -1 && i == length(var.tiers) - 1))
    ])
    error_message = "tiers[*].max_attempts: a whole number >= 1, or -1 (unlimited) on the last tier only: a tier with unlimited attempts never forwards."
  }
  validation {
    condition = alltrue(flatten([
      for t in var.tiers : [for d in [t.min_backoff, t.max_backoff] : can(regex("^[0-9]+(\\.[0-9]+)?s$", d))]
    ]))
    error_message = "tiers[*].min_backoff/max_backoff: durations ending in 's', e.g. \"10s\"."
  }
  validation {
    condition     = alltrue([for t in var.tiers : t.url == null || can(regex("^https?://[^,]+$", t.url))])
    error_message = "tiers[*].url: an http(s) URL without commas."
  }
}

variable "default_max_attempts" {
  description = "MAX_ATTEMPTS: attempts of a CHAIN entry written without a count (the seed's variable). The CHAIN built here always carries counts."
  type        = number
  default     = 7
}

variable "notify_mode" {
  description = "Where notifications go: \"queue\" (notifier Cloud Tasks queue pushing to the envelope's notify.url or notify_url), \"pubsub\" (a topic), \"both\", or \"log\"."
  type        = string
  default     = "queue"

  validation {
    condition     = contains(["queue", "pubsub", "both", "log"], var.notify_mode)
    error_message = "notify_mode: one of queue, pubsub, both, log."
  }
}

variable "notify_queue" {
  description = "Name of the notifier Cloud Tasks queue (NOTIFY_QUEUE)."
  type        = string
  default     = "notifier"
}

variable "notify_topic" {
  description = "Short name of the Pub/Sub topic created for notifications (NOTIFY_TOPIC) in pubsub/both mode."
  type        = string
  default     = "executor-notifications"
}

variable "notify_url" {
  description = "Default callback URL for notifications (NOTIFY_URL); the envelope's notify.url wins. Empty = none."
  type        = string
  default     = ""
}

variable "notify_on" {
  description = "NOTIFY_ON: comma-separated succeeded,failed,forwarded or all."
  type        = string
  default     = "failed"

  validation {
    condition     = var.notify_on == "all" || alltrue([for e in split(",", var.notify_on) : contains(["succeeded", "failed", "forwarded"], trimspace(e))])
    error_message = "notify_on: \"all\" or a comma-separated list of succeeded, failed, forwarded."
  }
}

variable "notifier_retry" {
  description = "Retry settings of the notifier queue."
  type = object({
    max_attempts  = number
    min_backoff   = string
    max_backoff   = string
    max_doublings = number
  })
  default = {
    max_attempts  = 10
    min_backoff   = "5s"
    max_backoff   = "600s"
    max_doublings = 5
  }
}

variable "job_timeout_seconds" {
  description = "JOB_TIMEOUT: a running job is aborted after this long. Must stay below dispatch_deadline_seconds."
  type        = number
  default     = 540
}

variable "dispatch_deadline_seconds" {
  description = "The dispatchDeadline tasks carry (Cloud Tasks default 600s; range 15-1800). Only documents and checks the line-up here: the service sets it on tasks it creates, enqueuers set it on theirs."
  type        = number
  default     = 600

  validation {
    condition     = var.dispatch_deadline_seconds >= 15 && var.dispatch_deadline_seconds <= 1800
    error_message = "dispatch_deadline_seconds: Cloud Tasks accepts 15 to 1800 seconds."
  }
  validation {
    condition     = var.job_timeout_seconds < var.dispatch_deadline_seconds
    error_message = "job_timeout_seconds must be below dispatch_deadline_seconds, or Cloud Tasks retries a job that is still running (duplicate, overlapping runs)."
  }
}

variable "request_timeout_seconds" {
  description = "Cloud Run request timeout. null = dispatch_deadline_seconds + 60 (at most 3600). Must be >= dispatch_deadline_seconds."
  type        = number
  default     = null

  validation {
    # Terraform does not short-circuit ||, hence coalesce instead of a null test.
    condition     = coalesce(var.request_timeout_seconds, 3600) >= var.dispatch_deadline_seconds && coalesce(var.request_timeout_seconds, 0) <= 3600
    error_message = "request_timeout_seconds: between dispatch_deadline_seconds and 3600 (Cloud Run's maximum)."
  }
}

variable "shutdown_grace_seconds" {
  description = "SHUTDOWN_GRACE. Cloud Run sends SIGKILL 10s after SIGTERM, so keep it below 10."
  type        = number
  default     = 8

  validation {
    condition     = var.shutdown_grace_seconds > 0 && var.shutdown_grace_seconds < 10
    error_message = "shutdown_grace_seconds: between 1 and 9 (Cloud Run kills the instance 10s after SIGTERM)."
  }
}

variable "max_concurrency" {
  description = "MAX_CONCURRENCY of one instance, also Cloud Run's max_instance_request_concurrency so Cloud Run spreads load before the service answers 429."
  type        = number
  default     = 80
}

variable "min_instances" {
  type    = number
  default = 0
}

variable "max_instances" {
  type    = number
  default = 20
}

variable "cpu" {
  type    = string
  default = "1"
}

variable "memory" {
  type    = string
  default = "512Mi"
}

variable "ingress" {
  description = "Cloud Run ingress. Cloud Tasks pushes count as internal traffic, but operator CLI calls from outside need INGRESS_TRAFFIC_ALL."
  type        = string
  default     = "INGRESS_TRAFFIC_ALL"
}

variable "log_level" {
  type    = string
  default = "info"
}

variable "operator_members" {
  description = "IAM members (user:..., serviceAccount:...) allowed to call the operator API (status, cancel, redrive). They get roles/run.invoker and their emails join OIDC_INVOKERS."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.operator_members : can(regex("^(user|serviceAccount):[^@]+@.+$", m))])
    error_message = "operator_members: user:EMAIL or serviceAccount:EMAIL (groups cannot be matched against a token's email)."
  }
}

variable "extra_env" {
  description = "More environment variables for the service (e.g. HTTP_JOB_ALLOW, EXEC_COMMANDS, JOBS_MODULE). They override the computed ones."
  type        = map(string)
  default     = {}
}

variable "create_firestore_database" {
  description = "Create the (default) Firestore database in Native mode. false when the project already has one."
  type        = bool
  default     = true
}

variable "firestore_location" {
  description = "Firestore location (a region such as us-central1, or a multi-region such as nam5)."
  type        = string
  default     = "nam5"
}

variable "ttl_collection_groups" {
  description = "Collection groups whose documents Firestore deletes once their expiresAt passes."
  type        = list(string)
  default     = ["executor-lineages", "executor-jobs"]
}

variable "bucket_name" {
  description = "GCS bucket for offloaded payloads and job output (BUCKET). null = PROJECT-executor-blobs."
  type        = string
  default     = null
}

variable "payload_retention_days" {
  description = "Offloaded payloads (objects under payloads/) are deleted after this many days. Keep it above the longest a lineage can live across all tiers."
  type        = number
  default     = 30
}

variable "artifact_repository" {
  description = "Artifact Registry Docker repository id."
  type        = string
  default     = "executor"
}

variable "gke_workload_identity" {
  description = "When running on GKE: the Kubernetes \"namespace/serviceaccount\" allowed to act as the runtime service account (Workload Identity). null = none."
  type        = string
  default     = null
}

variable "deletion_protection" {
  description = "Protect the Cloud Run service from terraform destroy."
  type        = bool
  default     = true
}

variable "runtime_account_id" {
  description = "Account id of the service account the service runs as."
  type        = string
  default     = "executor-runtime"
}

variable "invoker_account_id" {
  description = "Account id of the service account whose OIDC tokens Cloud Tasks puts on pushes (INVOKER_SERVICE_ACCOUNT)."
  type        = string
  default     = "executor-invoker"
}

variable "pull_mode" {
  description = <<-EOT
    Pull mode (`executor pull` on GKE, no public endpoint): every tier is a
    Pub/Sub topic named like its queue plus a subscription "<queue>-pull"
    (CHAIN gets "#<queue>-pull") instead of a Cloud Tasks queue. Each
    subscription backs off with the tier's min/max_backoff (capped at 600s),
    keeps unacked messages for pull_retention and dead-letters a message
    after pull_max_delivery_attempts deliveries: a last backstop well above
    the tier's max_attempts, where the executor forwards or fails first.
  EOT
  type        = bool
  default     = false
}

variable "pull_retention" {
  description = "Pull mode: message_retention_duration of each tier subscription and of the dead-letter hold subscription (at most 604800s)."
  type        = string
  default     = "604800s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.pull_retention)) && tonumber(trimsuffix(var.pull_retention, "s")) >= 600 && tonumber(trimsuffix(var.pull_retention, "s")) <= 604800
    error_message = "pull_retention: seconds between 600s and 604800s, e.g. \"604800s\"."
  }
}

variable "pull_max_delivery_attempts" {
  description = "Pull mode: deliveries after which Pub/Sub moves a message to the dead-letter topic (5-100). Keep it above every tier's max_attempts."
  type        = number
  default     = 100

  validation {
    condition     = var.pull_max_delivery_attempts >= 5 && var.pull_max_delivery_attempts <= 100
    error_message = "pull_max_delivery_attempts: between 5 and 100 (Pub/Sub's limits)."
  }
}
