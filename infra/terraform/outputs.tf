output "service_url" {
  description = "SERVICE_URL the service was given (predictable Cloud Run URL). Use it as the OIDC audience when enqueuing."
  value       = local.service_url
}

output "service_uri" {
  description = "The URL Cloud Run reports for the service (the same service; either form accepts pushes)."
  value       = google_cloud_run_v2_service.executor.uri
}

output "push_url" {
  description = "Where tier queues push: SERVICE_URL/tasks."
  value       = "${local.service_url}/tasks"
}

output "chain" {
  description = "The CHAIN the service runs with."
  value       = local.chain
}

output "queues" {
  description = "Queue ids in tier order, then the notifier queue if any."
  value       = concat(var.pull_mode ? [] : [for t in var.tiers : google_cloud_tasks_queue.tier[t.queue].name], [for q in google_cloud_tasks_queue.notifier : q.name])
}

output "pull_subscriptions" {
  description = "Pull mode: the tier subscriptions in tier order (for the GKE HPA's num_undelivered_messages metric)."
  value       = [for t in var.tiers : google_pubsub_subscription.tier[t.queue].name if var.pull_mode]
}

output "runtime_service_account" {
  value = google_service_account.runtime.email
}

output "invoker_service_account" {
  description = "Pass as --oidc-service-account-email when enqueuing with gcloud."
  value       = google_service_account.invoker.email
}

output "bucket" {
  value = google_storage_bucket.blobs.name
}

output "notify_topic" {
  value = local.notify_via_topic ? google_pubsub_topic.notifications[0].id : null
}

output "image_repository" {
  description = "docker push target prefix."
  value       = "${var.region}-docker.pkg.dev/${var.project}/${google_artifact_registry_repository.executor.repository_id}"
}

output "service_env" {
  description = "The environment the service runs with (for GKE's ConfigMap or a manual gcloud run deploy)."
  value       = local.service_env
}
