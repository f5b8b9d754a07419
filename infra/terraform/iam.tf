# Two identities:
# - runtime: what the service runs as (Cloud Run / GKE Workload Identity).
# - invoker: the identity Cloud Tasks signs OIDC tokens for on every push
#   (tier queues, forwarded tasks, notifier). It may invoke the service; the
#   service also checks the token's email against OIDC_INVOKERS itself.

resource "google_service_account" "runtime" {
  project      = var.project
  account_id   = var.runtime_account_id
  display_name = "executor runtime"

  depends_on = [google_project_service.apis]
}

resource "google_service_account" "invoker" {
  project      = var.project
  account_id   = var.invoker_account_id
  display_name = "executor Cloud Tasks invoker (OIDC on pushes)"

  depends_on = [google_project_service.apis]
}

# Project-level Cloud Tasks roles, not per queue: a tier added during an
# incident with infra/scripts/setup-queues.sh works without an IAM change.
# enqueuer: forward to the next tier, send notifications;
# viewer: queue settings (doctor); taskDeleter: cancel.
resource "google_project_iam_member" "runtime" {
  for_each = toset([
    "roles/cloudtasks.enqueuer",
    "roles/cloudtasks.viewer",
    "roles/cloudtasks.taskDeleter",
    "roles/datastore.user",
  ])
  project = var.project
  role    = each.value
  member  = google_service_account.runtime.member
}

# Putting an oidcToken for the invoker on a task requires actAs on it.
resource "google_service_account_iam_member" "runtime_acts_as_invoker" {
  service_account_id = google_service_account.invoker.name
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.runtime.member
}

resource "google_cloud_run_v2_service_iam_member" "invoker" {
  project  = var.project
  location = var.region
  name     = google_cloud_run_v2_service.executor.name
  role     = "roles/run.invoker"
  member   = google_service_account.invoker.member
}

resource "google_cloud_run_v2_service_iam_member" "operators" {
  for_each = toset(var.operator_members)

  project  = var.project
  location = var.region
  name     = google_cloud_run_v2_service.executor.name
  role     = "roles/run.invoker"
  member   = each.value
}

resource "google_storage_bucket_iam_member" "runtime_blobs" {
  bucket = google_storage_bucket.blobs.name
  role   = "roles/storage.objectAdmin"
  member = google_service_account.runtime.member
}

resource "google_pubsub_topic_iam_member" "runtime_publishes" {
  count = local.notify_via_topic ? 1 : 0

  project = var.project
  topic   = google_pubsub_topic.notifications[0].name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.runtime.member
}

# GKE: let the Kubernetes service account act as the runtime account.
resource "google_service_account_iam_member" "gke_workload_identity" {
  count = var.gke_workload_identity == null ? 0 : 1

  service_account_id = google_service_account.runtime.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${var.project}.svc.id.goog[${var.gke_workload_identity}]"
}
