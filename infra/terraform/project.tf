data "google_project" "this" {
  project_id = var.project
}

locals {
  project_number = data.google_project.this.number
}

resource "google_project_service" "apis" {
  for_each = toset([
    "artifactregistry.googleapis.com",
    "cloudtasks.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "storage.googleapis.com",
  ])
  project            = var.project
  service            = each.value
  disable_on_destroy = false
}
