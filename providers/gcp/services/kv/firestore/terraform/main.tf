# Firestore for the infrar kv capability: one database (native mode) per environment, with
# point-in-time recovery and delete protection, encrypted at rest with Google-managed keys
# (customer-managed keys need google provider 5.x releases newer than this plugin admits) and
# reached over TLS only. Each logical name is a collection.
#
# What Terraform manages per collection: collections exist without being created, so each
# table is registered by a document infrar_tables/<name> (the code refuses tables without
# one), and its "value" field is exempt from indexing (the code never queries values). What
# it cannot: IAM. Firestore grants permissions on a whole database, never on one collection,
# so the custom role holds exactly the permissions of the operations the code uses, on every
# table, and is granted with a condition naming this database alone.

variable "tables" {
  description = "Logical name -> physical name and the IAM permissions the code uses on it."
  type = map(object({
    name        = string
    permissions = list(string)
  }))
}

variable "location" {
  description = "Where the database lives (a region or a multi-region such as nam5)."
  type        = string
}

variable "project" {
  description = "Project name."
  type        = string
}

variable "environment" {
  description = "Environment name."
  type        = string
}

variable "app_members" {
  description = "IAM members that receive the role on the database."
  type        = list(string)
  default     = []
}

variable "service_grants" {
  description = "Service name -> its identity and, by logical name, what its code does with each table."
  type = map(object({
    principal = string
    resources = map(list(string))
  }))
  default = {}
}

variable "database_name" {
  description = "Name of the database; empty derives one."
  type        = string
  default     = ""
}

variable "delete_protection" {
  description = "Refuse to delete the database until this is turned off."
  type        = bool
  default     = true
}

locals {
  database_name = var.database_name != "" ? var.database_name : trimsuffix(substr(join("-", compact(["infrar", var.project, var.environment])), 0, 63), "-")
  permissions   = sort(distinct(flatten([for table in var.tables : table.permissions])))
  scope         = sha1("${var.project}/${var.environment}")
}

data "google_client_config" "current" {}

resource "google_firestore_database" "this" {
  name                              = local.database_name
  location_id                       = var.location
  type                              = "FIRESTORE_NATIVE"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = var.delete_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
}

resource "google_firestore_document" "table" {
  for_each = var.tables

  database    = google_firestore_database.this.name
  collection  = "infrar_tables"
  document_id = each.value.name
  fields      = jsonencode({ table = { stringValue = each.value.name } })
}

resource "google_firestore_field" "value" {
  for_each = var.tables

  database   = google_firestore_database.this.name
  collection = each.value.name
  field      = "value"

  # An empty index configuration: no index on the JSON text.
  index_config {}
}

resource "google_project_iam_custom_role" "this" {
  count = length(local.permissions) > 0 ? 1 : 0

  role_id     = "infrar_kv_${substr(local.scope, 0, 16)}"
  title       = "infrar kv ${var.project} ${var.environment}"
  description = "What the ${var.project} ${var.environment} code does with its tables in Firestore."
  permissions = local.permissions
}

resource "google_project_iam_member" "access" {
  for_each = length(local.permissions) > 0 ? toset(var.app_members) : toset([])

  project = data.google_client_config.current.project
  role    = google_project_iam_custom_role.this[0].name
  member  = each.value

  condition {
    title       = "infrar kv database ${google_firestore_database.this.name}"
    description = "Only the database of the ${var.project} ${var.environment} tables."
    expression  = "resource.name == \"projects/${data.google_client_config.current.project}/databases/${google_firestore_database.this.name}\""
  }
}

# Per service: a custom role with what its code does with the tables, on this database only.
locals {
  service_permissions = {
    for name, grant in var.service_grants : name => {
      member      = grant.principal
      permissions = sort(distinct(flatten(values(grant.resources))))
    } if length(flatten(values(grant.resources))) > 0
  }
}

resource "google_project_iam_custom_role" "service" {
  for_each = local.service_permissions

  role_id     = "infrar_kv_${substr(sha1("${var.project}/${var.environment}/${each.key}"), 0, 16)}"
  title       = "infrar kv ${var.project} ${var.environment} ${each.key}"
  description = "What the ${each.key} service of ${var.project} ${var.environment} does with its tables in Firestore."
  permissions = each.value.permissions
}

resource "google_project_iam_member" "service" {
  for_each = local.service_permissions

  project = data.google_client_config.current.project
  role    = google_project_iam_custom_role.service[each.key].name
  member  = each.value.member

  condition {
    title       = "infrar kv database ${google_firestore_database.this.name}"
    description = "Only the database of the ${var.project} ${var.environment} tables."
    expression  = "resource.name == \"projects/${data.google_client_config.current.project}/databases/${google_firestore_database.this.name}\""
  }
}

output "database" {
  description = "The Firestore database."
  value       = google_firestore_database.this.name
}

output "collections" {
  description = "The collection of each table, by logical name."
  value       = { for key, field in google_firestore_field.value : key => field.collection }
}

output "role" {
  description = "The custom role granted to the application on the database."
  value       = length(google_project_iam_custom_role.this) > 0 ? google_project_iam_custom_role.this[0].name : null
}
