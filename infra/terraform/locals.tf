# Pure derivations from the inputs (no resource or data references here, so
# test/infra can evaluate this file offline with `terraform console`).
# local.project_number comes from project.tf.

locals {
  # CHAIN, DESIGN.md section 5: queue[:maxAttempts][@url][#subscription],
  # comma separated. In pull mode each tier names its subscription.
  chain = join(",", [
    for t in var.tiers :
    format("%s:%s%s%s", t.queue, t.max_attempts == -1 ? "unlimited" : tostring(t.max_attempts), t.url == null ? "" : "@${t.url}", var.pull_mode ? "#${t.queue}-pull" : "")
  ])

  # Pull mode: one topic (named like the queue) and one subscription per tier.
  pull_tiers = var.pull_mode ? { for i, t in var.tiers : t.queue => merge(t, { index = i, subscription = "${t.queue}-pull" }) } : {}

  notify_via_queue = contains(["queue", "both"], var.notify_mode)
  notify_via_topic = contains(["pubsub", "both"], var.notify_mode)
  notify_topic_id  = "projects/${var.project}/topics/${var.notify_topic}"

  # Timeout line-up (DESIGN.md section 3):
  #   JOB_TIMEOUT < dispatchDeadline <= Cloud Run request timeout
  # The validations in variables.tf enforce the order.
  request_timeout_seconds = coalesce(var.request_timeout_seconds, min(var.dispatch_deadline_seconds + 60, 3600))

  invoker_email   = "${var.invoker_account_id}@${var.project}.iam.gserviceaccount.com"
  operator_emails = [for m in var.operator_members : split(":", m)[1]]

  bucket_name = coalesce(var.bucket_name, "${var.project}-executor-blobs")

  # Cloud Run's predictable URL: https://SERVICE-PROJECTNUMBER.REGION.run.app.
  # The service's own `uri` is known only after it exists, and SERVICE_URL
  # must be set on that same service, so the predictable form is used to
  # avoid a two-step apply. Cloud Run accepts OIDC tokens for either URL.
  service_url = "https://${var.service_name}-${local.project_number}.${var.region}.run.app"

  # Environment of the service (DESIGN.md section 5). PORT is not set: Cloud
  # Run reserves it and sets it itself. An empty NOTIFY_QUEUE / NOTIFY_TOPIC
  # turns that destination off.
  service_env = merge({
    GOOGLE_CLOUD_PROJECT    = var.project
    LOCATION                = var.region
    CHAIN                   = local.chain
    MAX_ATTEMPTS            = tostring(var.default_max_attempts)
    SERVICE_URL             = local.service_url
    AUTH                    = "oidc"
    OIDC_INVOKERS           = join(",", concat([local.invoker_email], local.operator_emails))
    INVOKER_SERVICE_ACCOUNT = local.invoker_email
    LEDGER                  = "firestore"
    BUCKET                  = local.bucket_name
    NOTIFY_QUEUE            = local.notify_via_queue ? var.notify_queue : ""
    NOTIFY_TOPIC            = local.notify_via_topic ? local.notify_topic_id : ""
    NOTIFY_URL              = var.notify_url
    NOTIFY_ON               = var.notify_on
    MAX_CONCURRENCY         = tostring(var.max_concurrency)
    JOB_TIMEOUT             = "${var.job_timeout_seconds}s"
    REQUEST_TIMEOUT         = "${local.request_timeout_seconds}s" # read by `executor doctor`
    SHUTDOWN_GRACE          = "${var.shutdown_grace_seconds}s"
    LOG_LEVEL               = var.log_level
  }, var.extra_env)
}
