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
