resource "google_pubsub_topic" "notifications" {
  count = local.notify_via_topic ? 1 : 0

  project = var.project
  name    = var.notify_topic

  depends_on = [google_project_service.apis]
}
