# One queue per tier, plus the notifier queue.
#
# max_retry_duration = "0s" (unlimited) on every queue: Cloud Tasks stops
# retrying only when BOTH max_attempts and max_retry_duration are reached, so
# a positive duration would keep a task retrying after max_attempts, and the
# service (which decides "final" by attempts alone, DESIGN.md section 3) would
# see attempts past what it forwards at. With "0s", max_attempts alone decides.
#
# Every tier queue gets max_attempts = -1: the tier's own count (CHAIN, from
# var.tiers[*].max_attempts) is what the executor forwards or fails at. The
# queue must not stop earlier: pushes that cannot reach the worker (an outage,
# a deploy) use up attempts too, and a queue that runs out deletes the task
# before the executor ever sees its final attempt - lost, unnotified.

# In pull mode (pull.tf) the tiers are Pub/Sub topics instead.
resource "google_cloud_tasks_queue" "tier" {
  for_each = var.pull_mode ? {} : { for i, t in var.tiers : t.queue => merge(t, { index = i }) }

  project  = var.project
  location = var.region
  name     = each.key

  retry_config {
    max_attempts       = -1 # the executor's CHAIN count decides; see above
    max_retry_duration = "0s"
    min_backoff        = each.value.min_backoff
    max_backoff        = each.value.max_backoff
    max_doublings      = each.value.max_doublings
  }

  dynamic "rate_limits" {
    for_each = each.value.max_dispatches_per_second != null || each.value.max_concurrent_dispatches != null ? [1] : []
    content {
      max_dispatches_per_second = each.value.max_dispatches_per_second
      max_concurrent_dispatches = each.value.max_concurrent_dispatches
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_cloud_tasks_queue" "notifier" {
  count = local.notify_via_queue ? 1 : 0

  project  = var.project
  location = var.region
  name     = var.notify_queue

  retry_config {
    max_attempts       = var.notifier_retry.max_attempts
    max_retry_duration = "0s"
    min_backoff        = var.notifier_retry.min_backoff
    max_backoff        = var.notifier_retry.max_backoff
    max_doublings      = var.notifier_retry.max_doublings
  }

  depends_on = [google_project_service.apis]
}
