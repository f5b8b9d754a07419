# Ledger (LEDGER=firestore) lives in the (default) database.
resource "google_firestore_database" "default" {
  count = var.create_firestore_database ? 1 : 0

  project         = var.project
  name            = "(default)"
  location_id     = var.firestore_location
  type            = "FIRESTORE_NATIVE"
  deletion_policy = "ABANDON"

  depends_on = [google_project_service.apis]
}

# Firestore deletes a document (typically within 24 h) once its expiresAt
# timestamp has passed. The empty index_config exempts the field from
# single-field indexing: a steadily increasing timestamp index is a write
# hotspot and nothing queries by it.
resource "google_firestore_field" "ttl" {
  for_each = toset(var.ttl_collection_groups)

  project    = var.project
  database   = "(default)"
  collection = each.value
  field      = "expiresAt"

  ttl_config {}
  index_config {}

  depends_on = [google_firestore_database.default]
}

# Composite indexes of GET /v1/tasks (executor list): one per equality filter,
# newest first. Firestore merges them when filters are combined. The same set
# is in firestore.indexes.json for `firebase deploy --only firestore:indexes`.
resource "google_firestore_index" "lineages_list" {
  for_each = toset(["state", "type", "queue"])

  project    = var.project
  database   = "(default)"
  collection = "executor-lineages" # FIRESTORE_COLLECTION_PREFIX "executor"

  fields {
    field_path = each.value
    order      = "ASCENDING"
  }
  fields {
    field_path = "createdAt"
    order      = "DESCENDING"
  }
  fields {
    field_path = "__name__"
    order      = "DESCENDING"
  }

  depends_on = [google_firestore_database.default]
}
