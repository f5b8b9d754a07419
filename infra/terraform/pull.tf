# Pull mode (var.pull_mode, DESIGN.md section 8): `executor pull` on GKE reads
# each tier from a subscription and forwards an exhausted message by
# publishing it to the next tier's topic (named like the tier's queue).
#
# Each subscription:
# - retry_policy: a nack (retryable failure) is redelivered after the tier's
#   backoff (Pub/Sub caps it at 600s);
# - ack_deadline_seconds 60: the client extends the deadline of every message
#   it holds while the job runs (lease management), so this only bounds how
#   soon a crashed worker's messages come back;
# - dead_letter_policy: the last backstop. The executor counts attempts
#   itself and forwards or fails at the tier's max_attempts, well before
#   pull_max_delivery_attempts; a message that still reaches the dead-letter
#   topic (a poison message that crashes the worker every time) is kept on
#   the hold subscription for pull_retention;
# - never expires, and keeps unacked messages for pull_retention.

resource "google_pubsub_topic" "tier" {
  for_each = local.pull_tiers

  project = var.project
  name    = each.key

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "dead_letter" {
  count = var.pull_mode ? 1 : 0

  project = var.project
  name    = "executor-dead-letter"

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_subscription" "dead_letter_hold" {
  count = var.pull_mode ? 1 : 0

  project                    = var.project
  name                       = "executor-dead-letter-hold"
  topic                      = google_pubsub_topic.dead_letter[0].id
  message_retention_duration = var.pull_retention
  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_subscription" "tier" {
  for_each = local.pull_tiers

  project                    = var.project
  name                       = each.value.subscription
  topic                      = google_pubsub_topic.tier[each.key].id
  ack_deadline_seconds       = 60
  message_retention_duration = var.pull_retention

  retry_policy {
    minimum_backoff = "${min(tonumber(trimsuffix(each.value.min_backoff, "s")), 600)}s"
    maximum_backoff = "${min(tonumber(trimsuffix(each.value.max_backoff, "s")), 600)}s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter[0].id
    max_delivery_attempts = var.pull_max_delivery_attempts
  }

  expiration_policy {
    ttl = ""
  }

  lifecycle {
    precondition {
      condition     = each.value.max_attempts != -1 && each.value.max_attempts < var.pull_max_delivery_attempts
      error_message = "pull mode: tier ${each.key} needs max_attempts below pull_max_delivery_attempts, or Pub/Sub dead-letters its messages before the executor decides."
    }
  }
}

# The runtime reads every tier and publishes to every tier (forwarding).
resource "google_pubsub_subscription_iam_member" "runtime_pulls" {
  for_each = local.pull_tiers

  project      = var.project
  subscription = google_pubsub_subscription.tier[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = google_service_account.runtime.member
}

resource "google_pubsub_topic_iam_member" "runtime_forwards" {
  for_each = local.pull_tiers

  project = var.project
  topic   = google_pubsub_topic.tier[each.key].name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.runtime.member
}

# Dead-lettering is done by the Pub/Sub service agent: it must publish to the
# dead-letter topic and acknowledge on the source subscriptions.
resource "google_pubsub_topic_iam_member" "agent_dead_letters" {
  count = var.pull_mode ? 1 : 0

  project = var.project
  topic   = google_pubsub_topic.dead_letter[0].name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:service-${local.project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_pubsub_subscription_iam_member" "agent_acks" {
  for_each = local.pull_tiers

  project      = var.project
  subscription = google_pubsub_subscription.tier[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:service-${local.project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}
