resource "google_artifact_registry_repository" "executor" {
  project       = var.project
  location      = var.region
  repository_id = var.artifact_repository
  format        = "DOCKER"
  description   = "executor images (docker push REGION-docker.pkg.dev/PROJECT/${var.artifact_repository}/executor:VERSION)"

  depends_on = [google_project_service.apis]
}
