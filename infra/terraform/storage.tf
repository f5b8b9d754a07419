# Blob store (BUCKET): payloads over the offload threshold and job output.
resource "google_storage_bucket" "blobs" {
  project                     = var.project
  name                        = local.bucket_name
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  # Offloaded payloads are only read while their lineage runs.
  lifecycle_rule {
    condition {
      age            = var.payload_retention_days
      matches_prefix = ["payloads/"]
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.apis]
}
