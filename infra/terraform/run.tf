resource "google_cloud_run_v2_service" "executor" {
  project             = var.project
  location            = var.region
  name                = var.service_name
  ingress             = var.ingress
  deletion_protection = var.deletion_protection

  template {
    service_account = google_service_account.runtime.email

    # Request timeout >= dispatchDeadline > JOB_TIMEOUT (variables.tf checks).
    timeout                          = "${local.request_timeout_seconds}s"
    max_instance_request_concurrency = var.max_concurrency

    scaling {
      min_instance_count = var.min_instances
      max_instance_count = var.max_instances
    }

    containers {
      image = var.image

      ports {
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = var.cpu
          memory = var.memory
        }
        # CPU only while requests run: jobs run inside the push request.
        cpu_idle = true
      }

      dynamic "env" {
        for_each = local.service_env
        content {
          name  = env.key
          value = env.value
        }
      }

      startup_probe {
        http_get {
          path = "/readyz"
        }
        period_seconds    = 2
        failure_threshold = 30
      }

      liveness_probe {
        http_get {
          path = "/healthz"
        }
        period_seconds    = 30
        failure_threshold = 3
      }
    }
  }

  lifecycle {
    # Cloud Build (cloudbuild.yaml) rolls out new images with
    # `gcloud run deploy`; terraform owns everything else.
    ignore_changes = [
      template[0].containers[0].image,
      client,
      client_version,
    ]
  }

  depends_on = [
    google_project_service.apis,
    google_project_iam_member.runtime,
    google_storage_bucket_iam_member.runtime_blobs,
  ]
}
